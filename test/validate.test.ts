import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, triplane } from './helpers.ts';

const FIXTURES = join(ROOT, 'test/fixtures/broken');

const expected: Record<string, string[]> = {
  'wrong-types.yaml': [
    ':4: app.replicas.min: expected number, got string "two"',
    ':6: app.php.opcache: expected boolean, got string "yes"',
    ':9: services.rabbitmq.enabled: expected boolean, got number 1',
  ],
  'unknown-keys.yaml': [
    ':3: app.replica: unknown key (did you mean "replicas"?)',
    ':4: servics: unknown key (did you mean "services"?)',
    ':8: services.varnish.memroy: unknown key (did you mean "memory"?)',
  ],
  'bad-sizes.yaml': [
    ':4: services.varnish.memory: expected a size like "256mb", got "lots"',
    ':8: services.redis.partitions.session.maxmemory: expected a size like "256mb", got "12 parsecs"',
    ':10: services.database.bufferPool: expected a size like "256mb", got "0mb"',
    ':12: media.size: expected string, got number 12',
  ],
  'replicas.yaml': [':4: app.replicas.min: min (5) must not be greater than max (2)'],
  'everything.yaml': [
    ':1: name: expected lowercase letters',
    ':3: app.replicas.min: min (3) must not be greater than max (1)',
    ':4: app.php.memoryLimit: expected a size like "256mb", got "huge"',
    ':4: app.php.fpmMaxChildren: expected a number >=1, got 0',
    ':6: services.varnish.port: expected a number >=1024, got 80',
    ':6: services.varnish.grace: expected a duration like "300s" or "5m", got "forever"',
    ':9: services.cron.jobs[0].schedule: expected a five-field cron schedule like "*/5 * * * *", got "every minute"',
    ':10: services.search.enabled: search is enabled but neither `image` nor `endpoint` is set',
    ':11: services.colour: unknown key',
  ],
};

for (const [file, lines] of Object.entries(expected)) {
  test(`validate fails ${file} listing every problem with line, path and value`, () => {
    const r = triplane(['validate', join(FIXTURES, file)]);
    assert.equal(r.code, 2, r.stderr);
    const out = r.stderr.trim().split('\n');
    for (const line of lines) {
      assert.ok(
        out.some((l) => l.includes(`${file}${line}`)),
        `missing "${line}" in:\n${r.stderr}`,
      );
    }
    assert.equal(
      out.at(-1),
      `${join(FIXTURES, file)}: ${lines.length} problem${lines.length === 1 ? '' : 's'}`,
    );
  });
}

test('validate accepts the demo store', () => {
  const r = triplane(['validate', join(ROOT, 'examples/demo-store/triplane.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid \(store demo\)/);
});

test('up with a broken file prints every problem and changes nothing', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-up-broken-'));
  try {
    const r = triplane(['up', '-f', join(FIXTURES, 'everything.yaml'), '--data-dir', dataDir]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.split('\n').filter((l) => l.includes('everything.yaml:')).length,
      expected['everything.yaml']!.length + 1,
    );
    assert.match(r.stderr, /nothing was changed/);
    assert.deepEqual(readdirSync(dataDir), []);
    assert.equal(spawnSync('getent', ['passwd', 'tp-shop']).status, 2, 'no unix user may be created');
    assert.equal(existsSync(join(dataDir, 'stores')), false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
