import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import type { AgentTask } from '../../../contracts/fleet.ts';
import { nodeTaskKind } from '../../fleet/agent-routes.ts';
import { stackPayload } from '../../fleet/stack-payload.ts';
import { observed, report } from '../../fleet/testing.ts';
import { type JsonValue, openState, type State } from '../../state/index.ts';
import { testSpec } from '../../state/testing.ts';
import { lastFiring, parseCron } from './cron.ts';
import { backupHandlers, repositoryKey } from './index.ts';

const log = pino({ level: 'silent' });

test('cron schedules match as cron does', () => {
  const at = (iso: string) => new Date(iso);
  const daily = parseCron('30 3 * * *');
  assert.equal(daily.matches(at('2026-11-30T03:30:00Z')), true);
  assert.equal(daily.matches(at('2026-11-30T03:31:00Z')), false);
  const every15 = parseCron('*/15 8-10 * * 1-5');
  assert.equal(every15.matches(at('2026-11-30T08:45:00Z')), true, 'a Monday');
  assert.equal(every15.matches(at('2026-11-29T08:45:00Z')), false, 'a Sunday');
  assert.equal(every15.matches(at('2026-11-30T11:00:00Z')), false);
  // Day of month and day of week both restricted: either matches.
  const either = parseCron('0 0 1 * 0');
  assert.equal(either.matches(at('2026-12-01T00:00:00Z')), true, 'the 1st, a Tuesday');
  assert.equal(either.matches(at('2026-12-06T00:00:00Z')), true, 'a Sunday');
  assert.equal(either.matches(at('2026-12-02T00:00:00Z')), false);
  assert.equal(parseCron('0 0 * * 7').matches(at('2026-12-06T00:00:00Z')), true, '7 is Sunday too');
  assert.deepEqual(
    lastFiring(daily, at('2026-11-30T03:39:59Z'), at('2026-11-30T03:29:59Z')),
    at('2026-11-30T03:30:00Z'),
  );
  assert.equal(lastFiring(daily, at('2026-11-30T03:45:00Z'), at('2026-11-30T03:35:00Z')), undefined);
});

describe('backup jobs', () => {
  let dir = '';
  let state: State;
  let now = Date.parse('2026-11-30T03:30:20Z');
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-backup-jobs-'));
    now = Date.parse('2026-11-30T03:30:20Z');
    state = await openState({ dataDir: dir, clock: () => now });
    await state.stores.create({ id: 'demo', displayName: 'Demo' });
    await state.environments.create('demo', 'production');
  });
  afterEach(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const handlers = () =>
    backupHandlers({ state, keyFile: join(dir, 'backup-key'), clock: () => now, pollMs: 5 });
  const ctx = (payload: unknown) => ({
    job: {} as never,
    payload: payload as never,
    signal: new AbortController().signal,
    log,
  });

  /** A snapshot as the node reports one it took; `id` is the hex digit its id repeats. */
  const takenSnapshot = (id: string) => ({
    snapshotId: id.repeat(64),
    takenAt: '2026-11-30T03:30:20.000Z',
    sizeBytes: 100,
    addedBytes: 100,
    durationMs: 1,
    dumpSha256: 'd'.repeat(64),
    tables: 3,
    mediaFiles: 1,
  });

  /**
   * The node's side of the protocol, as the agent runs it: claim each task, record it, answer it
   * with `answer`'s result, until a task of op `last` is answered. `each` runs before every claim.
   */
  const serveTasks = async (
    nodeId: string,
    seen: AgentTask[],
    last: AgentTask['op'],
    answer: (task: AgentTask) => unknown,
    each: () => Promise<void> = async () => {},
  ) => {
    for (;;) {
      await each();
      const job = await state.jobs.claim(nodeId, [nodeTaskKind(nodeId)]);
      if (!job) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const task = { ...(job.payload as object), id: job.id } as AgentTask;
      seen.push(task);
      const result = await answer(task);
      if (result !== undefined) await state.jobs.complete(job.id, nodeId, result as JsonValue);
      if (task.op === last) return;
    }
  };

  test('the schedule queues one backup per firing, from each store stack', async () => {
    await state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
    const h = handlers();
    const first = (await h['backup.schedule']!(ctx(null))) as { queued: string[] };
    assert.equal(first.queued.length, 1);
    now += 60_000;
    assert.deepEqual(await h['backup.schedule']!(ctx(null)), { queued: [] }, 'that firing has its backup');
    now = Date.parse('2026-11-30T03:45:00Z');
    assert.deepEqual(await h['backup.schedule']!(ctx(null)), { queued: [] });
    now = Date.parse('2026-12-01T03:31:00Z');
    assert.equal(((await h['backup.schedule']!(ctx(null))) as { queued: string[] }).queued.length, 1);
    const jobs = await state.jobs.history('backup.create');
    assert.equal(jobs.length, 2);
    assert.equal((await state.backups.list('demo'))[0]?.reason, 'scheduled');

    const off = testSpec('demo');
    await state.stacks.apply(
      'demo',
      'production',
      { ...off, backups: { ...off.backups, enabled: false } },
      'root',
    );
    now = Date.parse('2026-12-02T03:30:00Z');
    assert.deepEqual(await h['backup.schedule']!(ctx(null)), { queued: [] }, 'backups turned off');
  });

  test('a backup runs as node tasks: take, verify, prune; a failed verification raises an event', async () => {
    await state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
    const token = await state.joinTokens.create(60_000);
    const { node } = await state.nodes.register({ joinToken: token.token, name: 'n1' });
    await state.nodes.setDesired(node.id, { stores: [{ store: 'demo' }] });
    const b = await state.backups.create({
      storeId: 'demo',
      environment: 'production',
      reason: 'manual',
      verify: true,
    });
    const seen: AgentTask[] = [];
    const agent = serveTasks(node.id, seen, 'backup.prune', (task) => {
      if (task.op === 'backup.create') return takenSnapshot('c');
      if (task.op === 'backup.verify')
        return {
          status: 'failed',
          checkedAt: '2026-11-30T03:31:00.000Z',
          durationMs: 9,
          tables: 3,
          rows: 10,
          mediaFiles: 1,
          problems: ['table orders: 9 rows restored, 10 dumped'],
        };
      if (task.op === 'backup.prune') return { removed: [], kept: ['c'.repeat(64)] };
      return undefined;
    });
    const result = await handlers()['backup.create']!(
      ctx({ backupId: b.id, store: 'demo', environment: 'production' }),
    );
    await agent;
    assert.deepEqual(
      seen.map((t) => t.op),
      ['backup.create', 'backup.verify', 'backup.prune'],
    );
    const create = seen[0] as Extract<AgentTask, { op: 'backup.create' }>;
    assert.deepEqual(create.target, {
      store: 'demo',
      databaseName: 'store',
      databaseImage: 'localhost/triplane/mariadb:latest',
    });
    assert.equal(create.repositoryKey, repositoryKey(join(dir, 'backup-key')));
    assert.equal(statSync(join(dir, 'backup-key')).mode & 0o777, 0o600);
    const prune = seen[2] as Extract<AgentTask, { op: 'backup.prune' }>;
    assert.deepEqual([prune.retentionDays, prune.now], [7, new Date(now).toISOString()]);
    assert.equal((result as { verification: string }).verification, 'failed');
    const row = await state.backups.get('demo', b.id);
    assert.equal(row?.status, 'succeeded');
    assert.equal(row?.snapshot?.tables, 3);
    assert.equal(row?.verification?.status, 'failed');
    assert.equal(row?.verifying, false);
    const events = await state.events.list({ store: 'demo' });
    const failed = events.find((e) => e.kind === 'backup.verification-failed');
    assert.match(failed?.message ?? '', /FAILED verification: table orders: 9 rows restored, 10 dumped/);
  });

  test('a backup of a store no node runs fails, recorded on the backup and the timeline', async () => {
    await state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
    const b = await state.backups.create({
      storeId: 'demo',
      environment: 'production',
      reason: 'manual',
      verify: true,
    });
    await assert.rejects(
      handlers()['backup.create']!(ctx({ backupId: b.id, store: 'demo', environment: 'production' })),
      (e: Error & { code?: string }) => e.code === 'TP_BACKUP_NO_NODE',
    );
    const row = await state.backups.get('demo', b.id);
    assert.equal(row?.status, 'failed');
    assert.match(row?.error ?? '', /^TP_BACKUP_NO_NODE: store demo: no node runs it/);
    assert.ok((await state.events.list({ store: 'demo' })).some((e) => e.kind === 'backup.failed'));
  });

  test('a backup whose job died with its worker is settled as failed, not left running', async () => {
    await state.stacks.apply('demo', 'production', testSpec('demo'), 'root');
    const b = await state.backups.create({
      storeId: 'demo',
      environment: 'production',
      reason: 'manual',
      verify: true,
    });
    const job = await state.jobs.enqueue({
      kind: 'backup.create',
      payload: { backupId: b.id, store: 'demo', environment: 'production' },
      maxAttempts: 1,
      timeoutMs: 1000,
    });
    await state.jobs.claim('gone', ['backup.create']);
    await state.backups.running(b.id, 'n1');
    now += 5000;
    await state.jobs.recoverExpiredLeases(now);
    assert.equal((await state.jobs.get(job.id))?.status, 'failed');
    const r = (await handlers()['backup.schedule']!(ctx(null))) as { settled?: string[] };
    assert.deepEqual(r.settled, [b.id]);
    const row = await state.backups.get('demo', b.id);
    assert.equal(row?.status, 'failed');
    assert.match(row?.error ?? '', /^the backup\.create job ended without finishing it/);
    const again = (await handlers()['backup.schedule']!(ctx(null))) as { settled?: string[] };
    assert.equal(again.settled, undefined, 'settled once');
  });

  test('a restore into a new staging environment creates it from production, waits for it to run, and leaves production serving', async () => {
    // GIVEN a production store on a node with a taken backup, and no staging stack
    await state.stacks.apply('demo', 'production', stackPayload(testSpec('demo'), '/srv/demo'), 'root');
    await state.environments.create('demo', 'staging');
    const token = await state.joinTokens.create(60_000);
    const { node } = await state.nodes.register({ joinToken: token.token, name: 'n1' });
    await state.nodes.setDesired(node.id, { stores: [{ store: 'demo' }] });
    const b = await state.backups.create({
      storeId: 'demo',
      environment: 'production',
      reason: 'manual',
      verify: false,
    });
    await state.backups.taken(b.id, takenSnapshot('c'));
    const safety = await state.backups.create({
      storeId: 'demo',
      environment: 'staging',
      reason: 'pre-restore',
      verify: false,
    });
    const seen: AgentTask[] = [];
    const maintenanceSeen: string[][] = [];
    let placed = false;
    // The reconciler and the node, as far as this job sees them: once the staging stack exists the
    // node runs `demo--staging` and reports it converged; then it answers the tasks.
    const placeStaging = async () => {
      const staging = await state.stacks.latest('demo', 'staging');
      if (!staging || placed) return;
      placed = true;
      await state.nodes.setDesired(node.id, { stores: [{ store: 'demo' }, { store: 'demo--staging' }] });
      await state.nodes.recordObserved(
        node.id,
        report([
          observed('demo', []),
          { ...observed('demo--staging', []), stackVersion: staging.version },
        ]) as unknown as JsonValue,
      );
    };
    const node_ = serveTasks(
      node.id,
      seen,
      'backup.restore',
      async (task) => {
        maintenanceSeen.push((await state.maintenance.list()).map((m) => m.storeId));
        if (task.op === 'backup.create') return takenSnapshot('e');
        if (task.op === 'backup.restore') return { tables: 3 };
        return undefined;
      },
      placeStaging,
    );

    // WHEN the backup is restored into staging
    const result = (await handlers()['backup.restore']!(
      ctx({
        backupId: b.id,
        store: 'demo',
        target: 'demo',
        environment: 'staging',
        safetyBackupId: safety.id,
      }),
    )) as Record<string, unknown>;
    await node_;

    // THEN staging got production's stack without its domains, under its own instance name
    const staging = await state.stacks.latest('demo', 'staging');
    assert.ok(staging);
    assert.equal(staging.version, 1);
    assert.deepEqual((staging.spec as { domains: string[] }).domains, []);
    assert.equal((staging.spec as { name: string }).name, 'demo');
    // AND the safety backup and the restore ran against `demo--staging`, from production's repository
    assert.deepEqual(
      seen.map((t) => [t.op, t.target.store]),
      [
        ['backup.create', 'demo--staging'],
        ['backup.restore', 'demo--staging'],
      ],
    );
    const restore = seen[1] as Extract<AgentTask, { op: 'backup.restore' }>;
    assert.deepEqual([restore.from, restore.snapshotId], ['demo', 'c'.repeat(64)]);
    // AND production never went into maintenance
    assert.deepEqual(maintenanceSeen, [[], []]);
    assert.equal((await state.backups.get('demo', safety.id))?.status, 'succeeded');
    assert.deepEqual([result.instance, result.environment], ['demo--staging', 'staging']);
    const kinds = (await state.events.list({ store: 'demo' })).map((e) => e.kind);
    assert.ok(kinds.includes('stack.applied'));
  });
});
