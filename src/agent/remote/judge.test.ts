import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeDesired, readVersion } from './judge.ts';
import { desired, nodeDesired } from './testing.ts';

const store = (name: string) => desired(name, 1, '/srv/stacks/x');

test('accepts a desired state for this node', () => {
  const r = judgeDesired(nodeDesired(3, [store('shop')]), 'node-1');
  assert.ok(r.ok);
  assert.equal(r.desired.stores[0]?.spec.name, 'shop');
});

const rejected: { name: string; body: unknown; problems: string[] }[] = [
  {
    name: 'lists every schema problem with its path',
    body: {
      nodeId: 'node-1',
      version: 2,
      stores: [{ ...nodeDesired(2, [store('shop')]).stores[0], stackVersion: 0, sourceDir: 'relative/dir' }],
    },
    problems: [
      'stores[0].stackVersion: Too small: expected number to be >=1',
      'stores[0].sourceDir: Invalid string: must start with "/"',
    ],
  },
  {
    name: 'rejects a desired state meant for another node',
    body: nodeDesired(2, [store('shop')], 'node-9'),
    problems: ['nodeId: expected this node "node-1", got "node-9"'],
  },
  {
    name: 'rejects a store listed twice and a spec filed under another store',
    body: nodeDesired(2, [store('shop'), store('shop'), { ...store('blog'), store: 'news' }]),
    problems: [
      'stores[1].store: "shop" appears twice',
      'stores[2].spec.name: expected the store name "news", got "blog"',
    ],
  },
];

for (const c of rejected) {
  test(c.name, () => {
    const r = judgeDesired(c.body, 'node-1');
    assert.deepEqual(r, { ok: false, problems: c.problems });
  });
}

test('reads a usable version even from an invalid body, and nothing from a broken one', () => {
  assert.equal(readVersion({ version: 7, stores: 'nope' }), 7);
  assert.equal(readVersion({ version: '7' }), null);
  assert.equal(readVersion({ version: 0 }), null);
  assert.equal(readVersion(null), null);
});
