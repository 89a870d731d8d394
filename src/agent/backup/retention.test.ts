import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiredSnapshots } from './retention.ts';

test('retention removes exactly the snapshots older than the window', () => {
  const day = 24 * 3600_000;
  const t0 = Date.parse('2026-11-01T03:30:00Z');
  const snaps = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, time: new Date(t0 + i * day) }));
  const now = new Date(t0 + 9 * day + 60_000);
  assert.deepEqual(
    expiredSnapshots(snaps, now, 7).map((s) => s.id),
    ['s0', 's1', 's2'],
  );
  // At the boundary a snapshot exactly as old as the retention is kept.
  assert.deepEqual(
    expiredSnapshots(snaps, new Date(t0 + 9 * day), 7).map((s) => s.id),
    ['s0', 's1'],
  );
  assert.deepEqual(expiredSnapshots([{ time: new Date(now.getTime() + day) }], now, 1), []);
});
