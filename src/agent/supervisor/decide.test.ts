import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DECIDE, decide, FRESH, type Memory } from './decide.ts';

test('restarts a running container only after the configured failures in a row', () => {
  let mem: Memory = FRESH;
  const verdicts: string[] = [];
  for (let t = 0; t < 3; t++) {
    const r = decide('running', 'unhealthy', mem, t * 1000);
    verdicts.push(r.verdict);
    mem = r.mem;
  }
  assert.deepEqual(verdicts, ['wait', 'wait', 'restart']);
});

test('a healthy check in between resets the failure count', () => {
  let mem = decide('running', 'unhealthy', FRESH, 0).mem;
  mem = decide('running', 'unhealthy', mem, 1).mem;
  mem = decide('running', 'healthy', mem, 2).mem;
  assert.equal(mem.failures, 0);
  assert.equal(decide('running', 'unhealthy', mem, 3).verdict, 'wait');
});

test('leaves a stopped container to Podman during the grace period, then starts it', () => {
  const first = decide('exited', 'none', FRESH, 10_000);
  assert.equal(first.verdict, 'wait');
  assert.equal(decide('exited', 'none', first.mem, 10_000 + DEFAULT_DECIDE.downGraceMs - 1).verdict, 'wait');
  assert.equal(decide('exited', 'none', first.mem, 10_000 + DEFAULT_DECIDE.downGraceMs).verdict, 'start');
});

test('backs off exponentially between restarts up to the maximum', () => {
  let mem: Memory = FRESH;
  let now = 0;
  const gaps: number[] = [];
  for (let i = 0; i < 9; i++) {
    const r = decide('exited', 'none', { ...mem, downSince: now - DEFAULT_DECIDE.downGraceMs }, now);
    assert.equal(r.verdict, 'start');
    gaps.push(r.mem.backoffMs);
    mem = r.mem;
    now = r.mem.nextAllowedAt;
  }
  assert.deepEqual(gaps, [2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000, 120000]);
});

test('does not restart before the backoff has passed', () => {
  const mem: Memory = { failures: 2, nextAllowedAt: 50_000, backoffMs: 8000 };
  assert.equal(decide('running', 'unhealthy', mem, 40_000).verdict, 'wait');
  assert.equal(decide('running', 'unhealthy', mem, 50_000).verdict, 'restart');
});

test('a minute of health resets the backoff', () => {
  let mem: Memory = { failures: 0, nextAllowedAt: 0, backoffMs: 64_000 };
  mem = decide('running', 'healthy', mem, 0).mem;
  assert.equal(mem.backoffMs, 64_000);
  mem = decide('running', 'healthy', mem, DEFAULT_DECIDE.stableMs).mem;
  assert.equal(mem.backoffMs, 0);
});
