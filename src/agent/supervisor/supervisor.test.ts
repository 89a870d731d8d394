import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { layout, type StoreRecord } from '../datadir.ts';
import type { Command, CommandResult, Executor } from '../executor.ts';
import { LABEL } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import { FakePodman } from '../remote/testing-podman.ts';
import { CHECKS_AT_ONCE, eachBounded, readSupervisorRecord, Supervisor } from './supervisor.ts';

const work = mkdtempSync(join(tmpdir(), 'tp-supervisor-'));
after(() => rmSync(work, { recursive: true, force: true }));

const USER: StoreUser = {
  store: 'shop',
  user: 'tp-shop',
  uid: 1001,
  gid: 1001,
  home: '/home/tp-shop',
  runtimeDir: '/run/user/1001',
};

/** A store's Podman in memory, whose health checks take `checkMs` and can be made to hang. */
class SlowChecks implements Executor {
  readonly podman = new FakePodman();
  readonly hung = new Set<string>();
  running = 0;
  mostAtOnce = 0;
  readonly finished: string[] = [];
  constructor(private readonly checkMs: number) {}

  async run(cmd: Command): Promise<CommandResult> {
    const at = cmd.argv.indexOf('healthcheck');
    if (at < 0) return this.podman.run(cmd);
    const name = cmd.argv[at + 2]!;
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await new Promise((r) => setTimeout(r, this.hung.has(name) ? this.checkMs * 10 : this.checkMs));
    this.running--;
    this.finished.push(name);
    // 124 is what `timeout` exits with when the check outlives it.
    return this.hung.has(name)
      ? { argv: cmd.argv, exitCode: 124, stdout: '', stderr: '', durationMs: 0 }
      : this.podman.run(cmd);
  }
}

function storeWith(dataDir: string, ex: SlowChecks, containers: number): void {
  const record: StoreRecord = {
    store: 'shop',
    source: '/dev/null',
    varnishPort: 8180,
    appliedAt: new Date(0).toISOString(),
    specHash: 'h',
    state: 'up',
  };
  const file = layout(dataDir).record('shop');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record));
  for (let i = 1; i <= containers; i++)
    ex.podman.containers.set(`shop-c${i}`, {
      labels: { [LABEL.store]: 'shop', [LABEL.role]: 'redis-cache' },
      state: 'running',
      health: 'healthy',
      pod: undefined,
    });
}

test('a pass checks a store’s containers a few at a time, and a hung check holds up none of the others', async () => {
  // GIVEN a store of ten containers, the first of which hangs its health check
  const dataDir = mkdtempSync(join(work, 'd-'));
  const ex = new SlowChecks(20);
  storeWith(dataDir, ex, 10);
  ex.hung.add('shop-c1');
  const sup = new Supervisor({
    dataDir,
    executor: ex,
    userOf: async () => USER,
    log: pino({ level: 'silent' }),
    decide: { failureThreshold: 1, downGraceMs: 0, minBackoffMs: 0, maxBackoffMs: 0, stableMs: 0 },
  });
  // WHEN the supervisor makes one pass
  await sup.pass();
  // THEN every other check finished while the hung one ran, never more than the bound at once
  assert.equal(ex.finished.length, 10);
  assert.equal(ex.finished.at(-1), 'shop-c1', ex.finished.join(' '));
  assert.equal(ex.mostAtOnce, CHECKS_AT_ONCE);
  // AND the hung container alone was restarted
  assert.deepEqual(
    readSupervisorRecord(dataDir, 'shop').recent.map((e) => [e.container, e.action, e.reason]),
    [['shop-c1', 'restart', 'health check failed repeatedly']],
  );
  assert.deepEqual(
    ex.podman.log.filter((l) => / podman restart /.test(l)),
    ['runuser -u tp-shop -- podman restart --time 5 shop-c1'],
  );
});

test('eachBounded keeps the items’ order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await eachBounded([50, 10, 30, 0, 20], 2, async (ms) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    return ms * 2;
  });
  assert.deepEqual(out, [100, 20, 60, 0, 40]);
  assert.equal(most, 2);
  assert.deepEqual(await eachBounded([], 3, async () => 1), []);
});
