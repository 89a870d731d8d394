import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { testSpec } from '../state/testing.ts';
import { apiFixture } from './testing.ts';

const taken = {
  snapshotId: 'a'.repeat(64),
  takenAt: '2026-11-30T03:30:00.000Z',
  sizeBytes: 1000,
  addedBytes: 10,
  durationMs: 5,
  dumpSha256: 'b'.repeat(64),
  tables: 5,
  mediaFiles: 2,
};

test('a backup is queued for a store with a stack, with its job and audit event', async (t) => {
  const fx = await apiFixture(t);
  const none = await fx.call('developer', 'POST', '/api/stores/demo/backups', {});
  assert.equal(none.statusCode, 409);
  assert.match(none.json().message, /^environment: store demo has no production stack applied/);

  await fx.state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
  assert.equal((await fx.call('viewer', 'POST', '/api/stores/demo/backups', {})).statusCode, 403);
  const bad = await fx.call('developer', 'POST', '/api/stores/demo/backups', { environment: 'qa' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /body\.environment/);

  const before = await fx.auditCount();
  const res = await fx.call('developer', 'POST', '/api/stores/demo/backups', {});
  assert.equal(res.statusCode, 201);
  const { operation, backup } = res.json();
  assert.equal(backup.status, 'queued');
  assert.equal(backup.reason, 'manual');
  assert.equal(backup.verifying, true, 'the default stack verifies every backup');
  const job = await fx.state.jobs.get(operation);
  assert.equal(job?.kind, 'backup.create');
  assert.deepEqual(job?.payload, { backupId: backup.id, store: 'demo', environment: 'production' });
  assert.equal(await fx.auditCount(), before + 1);

  const list = await fx.call('viewer', 'GET', '/api/stores/demo/backups');
  assert.deepEqual(
    list.json().map((b: { id: string }) => b.id),
    [backup.id],
  );
  const op = await fx.call('viewer', 'GET', `/api/stores/demo/operations/${operation}`);
  assert.deepEqual(op.json(), {
    id: operation,
    kind: 'backup.create',
    status: 'queued',
    error: null,
    result: null,
  });
  assert.equal(
    (await fx.call('outsider', 'GET', `/api/stores/other/operations/${operation}`)).statusCode,
    404,
  );
  assert.equal((await fx.call('viewer', 'GET', '/api/stores/demo/backups/bak_nope')).statusCode, 404);
});

/** The demo store with a production stack and one manual backup, queued. */
async function storeWithBackup(t: TestContext) {
  const fx = await apiFixture(t);
  await fx.state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
  const b = await fx.state.backups.create({
    storeId: 'demo',
    environment: 'production',
    reason: 'manual',
    verify: true,
  });
  return { fx, b };
}

test('only a succeeded backup is verified or restored; restoring needs the owner role of the target', async (t) => {
  const { fx, b } = await storeWithBackup(t);
  const early = await fx.call('developer', 'POST', `/api/stores/demo/backups/${b.id}/verify`);
  assert.equal(early.statusCode, 409);
  assert.match(early.json().message, /is queued: only a succeeded backup can be verified/);

  await fx.state.backups.taken(b.id, taken);
  assert.equal(
    (await fx.call('developer', 'POST', `/api/stores/demo/backups/${b.id}/verify`)).statusCode,
    201,
  );
  assert.equal(
    (await fx.call('developer', 'POST', `/api/stores/demo/backups/${b.id}/restore`, {})).statusCode,
    403,
  );

  const res = await fx.call('owner', 'POST', `/api/stores/demo/backups/${b.id}/restore`, {});
  assert.equal(res.statusCode, 201);
  const job = await fx.state.jobs.get(res.json().operation);
  const p = job?.payload as { target: string; safetyBackupId: string };
  assert.equal(p.target, 'demo');
  const safety = await fx.state.backups.get('demo', p.safetyBackupId);
  assert.equal(safety?.reason, 'pre-restore');

  const elsewhere = await fx.call('owner', 'POST', `/api/stores/demo/backups/${b.id}/restore`, {
    to: 'other',
  });
  assert.equal(elsewhere.statusCode, 403);
  assert.match(elsewhere.json().message, /^to: restoring into store "other" needs its owner role/);
  const noStack = await fx.call('root', 'POST', `/api/stores/demo/backups/${b.id}/restore`, { to: 'other' });
  assert.equal(noStack.statusCode, 409);
  assert.match(noStack.json().message, /^to: store other has no stack applied/);
});

test('a restore into the staging environment needs no staging stack yet; a bad environment is named', async (t) => {
  const { fx, b } = await storeWithBackup(t);
  await fx.state.backups.taken(b.id, taken);

  const res = await fx.call('owner', 'POST', `/api/stores/demo/backups/${b.id}/restore`, {
    environment: 'staging',
  });
  assert.equal(res.statusCode, 201);
  const p = (await fx.state.jobs.get(res.json().operation))?.payload as {
    target: string;
    environment: string;
    safetyBackupId: string;
  };
  assert.deepEqual([p.target, p.environment], ['demo', 'staging']);
  const safety = await fx.state.backups.get('demo', p.safetyBackupId);
  assert.deepEqual([safety?.reason, safety?.environment], ['pre-restore', 'staging']);

  const bad = await fx.call('owner', 'POST', `/api/stores/demo/backups/${b.id}/restore`, {
    environment: 'qa',
  });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /body\.environment/);
  assert.match(JSON.stringify(bad.json().details), /"value":"qa"/);
});
