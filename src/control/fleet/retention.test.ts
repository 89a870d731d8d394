import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessLogRetention } from './retention.ts';
import { logRecord, tempState } from './testing.ts';

test('prunes the access log by age, then by count', async (t) => {
  const state = await tempState(t);
  const now = Date.now();
  const at = (ageMs: number, i: number) => ({ ...logRecord(i), time: new Date(now - ageMs).toISOString() });
  await state.accessLogs.insertBatch([at(10 * 86_400_000, 1), at(3000, 2), at(2000, 3), at(1000, 4)]);
  const retention = new AccessLogRetention({ state, maxRows: 2 });
  assert.equal(await retention.runOnce(), 2);
  assert.deepEqual(
    (await state.accessLogs.query()).map((r) => r.requestId),
    ['r-4', 'r-3'],
  );
  assert.equal(retention.stats().runs, 1);
});

test('fails with TP_FLEET_INVALID_OPTIONS listing every bad limit', () => {
  assert.throws(() => new AccessLogRetention({ state: undefined as never, maxRows: 0, maxAgeMs: -5 }), {
    code: 'TP_FLEET_INVALID_OPTIONS',
    message:
      'accessLogRetention.maxRows: expected a positive integer, got 0; accessLogRetention.maxAgeMs: expected a positive integer, got -5',
  });
});
