import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EdgeSnapshot } from '../../contracts/snapshot.ts';
import { lastKnownGoodPath } from './last-known-good.ts';
import { SnapshotManager } from './manager.ts';
import type { OnSnapshot, SnapshotAck, SnapshotSource } from './source.ts';
import { recordingLog, snapshotInput } from './testing.ts';

/** A source the test drives by hand; it records what the manager told it. */
class FakeSource implements SnapshotSource {
  readonly acks: SnapshotAck[] = [];
  readonly events: string[] = [];
  private deliver: OnSnapshot | undefined;
  start(onSnapshot: OnSnapshot): void {
    this.events.push('start');
    this.deliver = onSnapshot;
  }
  async stop(): Promise<void> {
    this.events.push('stop');
  }
  ack(ack: SnapshotAck): void {
    this.acks.push(ack);
  }
  emit(raw: unknown): void {
    this.deliver!(raw, 'fake');
  }
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tp-snap-'));
  dirs.push(d);
  return d;
}

/** GIVEN a started manager over a fake source, with every onApply recorded. */
async function given(o: { dataDir?: string; onApply?: (s: EdgeSnapshot) => void | Promise<void> } = {}) {
  const source = new FakeSource();
  const applied: number[] = [];
  const { log, records } = recordingLog();
  const dataDir = o.dataDir ?? tempDir();
  const manager = new SnapshotManager({
    dataDir,
    source,
    log,
    onApply: async (s) => {
      source.events.push(`apply ${s.version}`);
      await o.onApply?.(s);
      applied.push(s.version);
    },
  });
  await manager.start();
  /** WHEN the source delivers `raw` and the manager has handled it. */
  const deliver = async (raw: unknown) => {
    source.emit(raw);
    await manager.idle();
  };
  return { source, applied, records, dataDir, manager, deliver };
}

test('applies a valid snapshot, hands it over deep-frozen, saves it and acks it', async () => {
  const { manager, deliver, applied, source, dataDir } = await given();
  await deliver(snapshotInput(1));
  assert.deepEqual(applied, [1]);
  const s = manager.current()!;
  assert.equal(s.version, 1);
  assert.equal(s.routes[0]!.pathPrefix, '/', 'defaults are filled in');
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.routes) && Object.isFrozen(s.pools[0]!.members[0]));
  assert.throws(() => {
    (s.routes as unknown[]).push({});
  }, TypeError);
  assert.deepEqual(source.acks, [{ version: 1, accepted: true }]);
  assert.equal(JSON.parse(readFileSync(lastKnownGoodPath(dataDir), 'utf8')).version, 1);
  const st = manager.stats();
  assert.equal(st.version, 1);
  assert.equal(st.origin, 'fake');
  assert.equal(st.appliedTotal, 1);
  assert.ok(st.age !== null && st.age >= 0 && st.age < 5);
  assert.ok(st.appliedAt !== null && Date.now() - Date.parse(st.appliedAt) < 5_000);
  await manager.stop();
});

const invalid: {
  name: string;
  raw: unknown;
  version: number | null;
  problems: { path: string; message: RegExp }[];
}[] = [
  {
    name: 'a route that names an unknown pool',
    raw: snapshotInput(2, {
      routes: [{ id: 'demo', store: 'demo', hosts: ['demo.localhost'], pool: 'missing' }],
    }),
    version: 2,
    problems: [{ path: 'routes[0].pool', message: /unknown pool "missing"/ }],
  },
  {
    name: 'a route whose fallback pool does not exist',
    raw: snapshotInput(2, {
      routes: [
        { id: 'demo', store: 'demo', hosts: ['demo.localhost'], pool: 'demo-app', fallbackPool: 'gone' },
      ],
    }),
    version: 2,
    problems: [{ path: 'routes[0].fallbackPool', message: /unknown fallback pool "gone"/ }],
  },
  {
    name: 'a port out of range',
    raw: snapshotInput(2, { pools: [{ id: 'demo-app', members: [{ host: 'a', port: 70000 }] }] }),
    version: 2,
    problems: [{ path: 'pools[0].members[0].port', message: /65535/ }],
  },
  {
    name: 'an unknown field',
    raw: snapshotInput(2, { colour: 'blue' }),
    version: 2,
    problems: [{ path: '', message: /colour/ }],
  },
  {
    name: 'no readable version',
    raw: { routes: [] },
    version: null,
    problems: [{ path: 'version', message: /./ }],
  },
];

for (const c of invalid) {
  test(`fails a snapshot with ${c.name}: keeps the old one and records every problem with its path`, async () => {
    const { manager, deliver, applied, source, records, dataDir } = await given();
    await deliver(snapshotInput(1));
    await deliver(c.raw);
    assert.deepEqual(applied, [1]);
    assert.equal(manager.current()!.version, 1);
    const st = manager.stats();
    assert.equal(st.rejectedTotal, 1);
    const r = st.lastRejection!;
    assert.equal(r.code, 'TP_EDGE_SNAPSHOT_INVALID');
    assert.equal(r.version, c.version);
    assert.equal(r.origin, 'fake');
    assert.ok(Date.now() - Date.parse(r.at) < 5_000);
    assert.equal(r.problems.length, c.problems.length, JSON.stringify(r.problems));
    c.problems.forEach((want, i) => {
      assert.equal(r.problems[i]!.path, want.path);
      assert.match(r.problems[i]!.message, want.message);
    });
    assert.deepEqual(source.acks[1], { version: c.version, accepted: false, problems: r.problems });
    const warn = records.find((x) => x.msg.startsWith('snapshot rejected'));
    assert.equal(warn?.level, 'warn');
    assert.deepEqual((warn.obj as { problems: unknown }).problems, r.problems);
    assert.equal(JSON.parse(readFileSync(lastKnownGoodPath(dataDir), 'utf8')).version, 1);
    await manager.stop();
  });
}

test('ignores a snapshot whose version is already running, but acks it', async () => {
  const { manager, deliver, applied, source } = await given();
  await deliver(snapshotInput(3));
  await deliver(snapshotInput(3, { routes: [], pools: [] }));
  assert.deepEqual(applied, [3]);
  assert.equal(manager.current()!.routes.length, 1, 'the running snapshot is not replaced');
  assert.equal(manager.stats().unchanged, 1);
  assert.equal(manager.stats().appliedTotal, 1);
  assert.deepEqual(source.acks, [
    { version: 3, accepted: true },
    { version: 3, accepted: true },
  ]);
  await manager.stop();
});

test('fails an older version as stale', async () => {
  const { manager, deliver, applied, source } = await given();
  await deliver(snapshotInput(5));
  await deliver(snapshotInput(4));
  assert.deepEqual(applied, [5]);
  const r = manager.stats().lastRejection!;
  assert.equal(r.code, 'TP_EDGE_SNAPSHOT_STALE');
  assert.equal(r.version, 4);
  assert.deepEqual(r.problems, [
    { path: 'version', message: 'version 4 is older than the running version 5' },
  ]);
  assert.equal(source.acks[1]!.accepted, false);
  await manager.stop();
});

test('fails a snapshot onApply throws on: keeps the old one and does not save the new one', async () => {
  let failures = 1;
  const { manager, deliver, applied, source, dataDir } = await given({
    onApply: (s) => {
      if (s.version === 2 && failures-- > 0)
        throw Object.assign(new Error('pool demo-app cannot be built'), { code: 'TP_X' });
    },
  });
  await deliver(snapshotInput(1));
  await deliver(snapshotInput(2));
  assert.deepEqual(applied, [1]);
  assert.equal(manager.current()!.version, 1);
  const r = manager.stats().lastRejection!;
  assert.equal(r.code, 'TP_EDGE_SNAPSHOT_APPLY_FAILED');
  assert.deepEqual(r.problems, [{ path: '', message: 'TP_X: pool demo-app cannot be built' }]);
  assert.deepEqual(source.acks[1], { version: 2, accepted: false, problems: r.problems });
  assert.equal(JSON.parse(readFileSync(lastKnownGoodPath(dataDir), 'utf8')).version, 1);
  // The same version may be applied once the proxy can take it: it never became the running one.
  await deliver(snapshotInput(2));
  assert.equal(manager.current()!.version, 2);
  await manager.stop();
});

test('a new manager applies the saved snapshot before it starts the source', async () => {
  const first = await given();
  await first.deliver(snapshotInput(7));
  await first.manager.stop();

  const second = await given({ dataDir: first.dataDir });
  assert.deepEqual(second.source.events, ['apply 7', 'start']);
  assert.equal(second.manager.current()!.version, 7);
  assert.ok(Object.isFrozen(second.manager.current()));
  assert.equal(second.manager.stats().origin, `disk:${lastKnownGoodPath(first.dataDir)}`);
  assert.deepEqual(second.source.acks, [], 'the disk copy is not acked');
  // The first poll after a restart usually returns the same version: nothing is swapped.
  await second.deliver(snapshotInput(7));
  assert.deepEqual(second.applied, [7]);
  assert.equal(second.manager.stats().unchanged, 1);
  await second.manager.stop();
});

test('starts without a snapshot when the saved one is corrupt, and records why', async () => {
  const dataDir = tempDir();
  const first = await given({ dataDir });
  await first.deliver(snapshotInput(1));
  await first.manager.stop();
  writeFileSync(lastKnownGoodPath(dataDir), '{"version": 2, "routes": [');

  const { manager, source, deliver } = await given({ dataDir });
  assert.equal(manager.current(), undefined);
  assert.deepEqual(source.events, ['start']);
  const r = manager.stats().lastRejection!;
  assert.equal(r.code, 'TP_EDGE_SNAPSHOT_FILE_UNREADABLE');
  assert.match(r.problems[0]!.message, /is not JSON/);
  await deliver(snapshotInput(1));
  assert.equal(manager.current()!.version, 1, 'the source can still provide one');
  await manager.stop();
});

test('counts a failed save and keeps serving the applied snapshot', async () => {
  const notADir = join(tempDir(), 'file');
  writeFileSync(notADir, '');
  const { manager, deliver, source, records } = await given({ dataDir: notADir });
  await deliver(snapshotInput(1));
  assert.equal(manager.current()!.version, 1);
  assert.equal(manager.stats().persistFailedTotal, 1);
  assert.deepEqual(source.acks, [{ version: 1, accepted: true }]);
  assert.ok(records.some((r) => r.level === 'error' && r.msg.includes('last-known-good')));
  await manager.stop();
});

test('stop waits for the snapshot being applied, then stops the source', async () => {
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const { manager, source } = await given({ onApply: () => gate });
  source.emit(snapshotInput(1));
  const stopped = manager.stop();
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(source.events, ['start', 'apply 1'], 'the source is not stopped mid-apply');
  release();
  await stopped;
  assert.deepEqual(source.events, ['start', 'apply 1', 'stop']);
  assert.equal(manager.current()!.version, 1);
  source.emit(snapshotInput(2));
  await manager.idle();
  assert.equal(manager.current()!.version, 1, 'deliveries after stop are dropped');
});

test('saves the snapshot atomically, private to the edge, leaving no temp files', async () => {
  const { manager, deliver, dataDir } = await given();
  await deliver(snapshotInput(1));
  await deliver(snapshotInput(2));
  const path = lastKnownGoodPath(dataDir);
  assert.deepEqual(readdirSync(join(dataDir, 'edge')), ['snapshot.json']);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, 'edge')).mode & 0o777, 0o700);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).version, 2);
  await manager.stop();
});
