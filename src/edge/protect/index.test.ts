import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorePolicy, type StorePolicy as StorePolicyType } from '../../contracts/snapshot.ts';
import { compileProtection, recompile } from './index.ts';

const base = {
  store: 'demo',
  rateLimits: [{ class: 'default', ratePerSec: 1, burst: 1 }],
  ipDeny: ['10.6.6.6'],
  bots: { rules: [{ id: 'scanners', pattern: 'sqlmap', action: 'deny' }] },
  overload: { maxConcurrent: 1, maxQueue: 0, maxQueueMs: 0 },
};
const policy = (over: Record<string, unknown> = {}): StorePolicyType =>
  StorePolicy.parse({ ...base, ...over });

describe('compileProtection', () => {
  it('compiles every part of a store policy', async () => {
    const p = compileProtection(policy(), { now: () => 0 });
    assert.equal(p.store, 'demo');
    assert.equal(p.ip.decide('10.6.6.6'), 'deny');
    assert.equal(p.rateLimiter.take('1.1.1.1', 'GET', '/').ok, true);
    assert.equal(p.rateLimiter.take('1.1.1.1', 'GET', '/').ok, false);
    assert.equal(p.bots.classify('sqlmap').action, 'deny');
    await p.overload.acquire();
    await assert.rejects(p.overload.acquire(), { code: 'TP_EDGE_OVERLOADED' });
    assert.ok(Object.isFrozen(p));
  });

  it('fails with TP_EDGE_BAD_POLICY naming every bad CIDR and pattern of the store', () => {
    const bad = policy({
      ipAllow: ['10.0.0.0/40'],
      ipDeny: ['999.1.1.1'],
      bots: { rules: [{ id: 'x', pattern: '(', action: 'deny' }] },
    });
    assert.throws(
      () => compileProtection(bad),
      (e: Error & { code?: string; problems?: { path: string }[] }) => {
        assert.equal(e.code, 'TP_EDGE_BAD_POLICY');
        assert.match(e.message, /^store demo: /);
        assert.deepEqual(
          e.problems?.map((p) => p.path),
          ['ipAllow[0]', 'ipDeny[0]', 'bots.rules[0].pattern'],
        );
        return true;
      },
    );
  });
});

describe('recompile', () => {
  const prev = compileProtection(policy(), { now: () => 0 });

  it('keeps every part when the policy is unchanged', () => {
    const next = recompile(prev, policy());
    for (const part of ['ip', 'rateLimiter', 'bots', 'overload'] as const)
      assert.equal(next[part], prev[part], part);
  });

  it('keeps rate-limit buckets across a snapshot that changed something else', () => {
    const p = compileProtection(policy(), { now: () => 0 });
    p.rateLimiter.take('1.1.1.1', 'GET', '/');
    const next = recompile(p, policy({ ipDeny: ['10.7.7.7'] }));
    assert.equal(next.rateLimiter.take('1.1.1.1', 'GET', '/').ok, false, 'the bucket is still empty');
    assert.equal(next.ip.decide('10.7.7.7'), 'deny');
    assert.notEqual(next.ip, p.ip);
    assert.equal(next.overload, p.overload);
  });

  const changes = [
    {
      name: 'rebuilds the rate limiter when rate limits change',
      over: { rateLimits: [] },
      part: 'rateLimiter',
    },
    {
      name: 'rebuilds the IP rules when the allow list changes',
      over: { ipAllow: ['10.0.0.0/8'] },
      part: 'ip',
    },
    {
      name: 'rebuilds the bot classifier when verified bots change',
      over: { bots: { ...base.bots, verifiedBots: ['x'] } },
      part: 'bots',
    },
    {
      name: 'rebuilds the overload queue when its limits change',
      over: { overload: { maxConcurrent: 2 } },
      part: 'overload',
    },
  ] as const;
  for (const c of changes) {
    it(c.name, () => {
      const next = recompile(prev, policy(c.over));
      assert.notEqual(next[c.part], prev[c.part]);
      for (const other of ['ip', 'rateLimiter', 'bots', 'overload'] as const) {
        if (other !== c.part) assert.equal(next[other], prev[other], other);
      }
    });
  }

  it('compiles afresh for another store', () => {
    const next = recompile(prev, policy({ store: 'other' }));
    assert.equal(next.store, 'other');
    assert.notEqual(next.rateLimiter, prev.rateLimiter);
  });

  it('keeps the previous protection usable when the new policy fails', () => {
    assert.throws(() => recompile(prev, policy({ ipDeny: ['1.2.3'] })), { code: 'TP_EDGE_BAD_POLICY' });
    assert.equal(prev.ip.decide('10.6.6.6'), 'deny');
  });
});
