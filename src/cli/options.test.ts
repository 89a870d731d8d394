import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { integerIn, parseIntervalMs, parseNiceness, parseShare, parseTimeoutSeconds } from './options.ts';

const TRIPLANE = fileURLToPath(new URL('../../triplane', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'triplane-cli-options-'));
after(() => rmSync(work, { recursive: true, force: true }));

const refuses = (parse: (v: string) => number, value: string, message: string) =>
  assert.throws(
    () => parse(value),
    (e: unknown) => e instanceof InvalidArgumentError && e.message === message,
    `${JSON.stringify(value)} should be refused with: ${message}`,
  );

test('integerIn takes whole numbers within its bounds and names the bad value otherwise', () => {
  const p = integerIn(5, 10);
  assert.deepEqual(['5', '7', '10'].map(p), [5, 7, 10]);
  for (const bad of ['4', '11', '7.5', '-6', '1e1', ' 7', '', 'seven', '0x7'])
    refuses(p, bad, `expected an integer from 5 to 10, got ${JSON.stringify(bad)}`);
});

test('the supervisor interval is one second to one hour: NaN or 0 would make the passes loop without pause', () => {
  assert.equal(parseIntervalMs('10000'), 10_000);
  assert.equal(parseIntervalMs('1000'), 1000);
  assert.equal(parseIntervalMs('3600000'), 3_600_000);
  for (const bad of ['abc', '0', '999', '3600001', '10s'])
    refuses(parseIntervalMs, bad, `expected an integer from 1000 to 3600000, got ${JSON.stringify(bad)}`);
});

test('a wait timeout is one second to one day', () => {
  assert.equal(parseTimeoutSeconds('300'), 300);
  for (const bad of ['0', '86401', 'abc', '1.5', '5m'])
    refuses(parseTimeoutSeconds, bad, `expected an integer from 1 to 86400, got ${JSON.stringify(bad)}`);
});

test('niceness and the analytics share keep their bounds', () => {
  assert.deepEqual(['0', '19'].map(parseNiceness), [0, 19]);
  for (const bad of ['20', '-1', 'x', '1.5'])
    refuses(parseNiceness, bad, `expected an integer from 0 to 19, got ${JSON.stringify(bad)}`);
  assert.deepEqual(['0.01', '0.5', '1'].map(parseShare), [0.01, 0.5, 1]);
  for (const bad of ['0', '1.5', 'half', '', ' '])
    refuses(parseShare, bad, `expected a number from 0.01 to 1, got ${JSON.stringify(bad)}`);
});

test('the CLI refuses a bad interval or timeout before it starts or changes anything', () => {
  const dataDir = join(work, 'data');
  const cases: [string[], string][] = [
    [
      ['agent', '--data-dir', dataDir, '--interval', 'abc'],
      `option '--interval <ms>' argument 'abc' is invalid. expected an integer from 1000 to 3600000, got "abc"`,
    ],
    [
      ['up', '--data-dir', dataDir, '--timeout', '0'],
      `option '--timeout <seconds>' argument '0' is invalid. expected an integer from 1 to 86400, got "0"`,
    ],
    [
      ['apply', '--data-dir', dataDir, '-f', 'triplane.yaml', '--wait', '--timeout', '5m'],
      `option '--timeout <seconds>' argument '5m' is invalid. expected an integer from 1 to 86400, got "5m"`,
    ],
    [
      ['backup', 'create', 'demo', '--data-dir', dataDir, '--wait', '--timeout', 'soon'],
      `option '--timeout <seconds>' argument 'soon' is invalid. expected an integer from 1 to 86400, got "soon"`,
    ],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(TRIPLANE, args, { encoding: 'utf8', cwd: work, timeout: 60_000 });
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.ok(r.stderr.includes(message), `${args.join(' ')}:\n${r.stderr}`);
    // Refused while parsing: no data directory, no host check, no API call.
    assert.equal(existsSync(dataDir), false, `${args.join(' ')} created ${dataDir}`);
  }
});
