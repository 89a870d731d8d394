import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import type { DesiredStore } from '../../contracts/fleet.ts';
import { layout, readJson, type StoreRecord } from '../datadir.ts';
import { AgentError, CommandError } from '../errors.ts';
import { type Executor, RecordingExecutor } from '../executor.ts';
import { applyStack } from '../stack/apply.ts';
import { RemoteAgent, type RemoteAgentOptions } from './agent.ts';
import type { ApplyFn } from './converge.ts';
import { readApplied, remoteLayout, writeIdentity } from './state.ts';
import { captureLog, desired, nodeDesired, recordingApply, tempDirs, testUser } from './testing.ts';
import { TestControlPlane } from './testing-control.ts';
import { FakePodman, READ_ONLY } from './testing-podman.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

/**
 * GIVEN a test control plane on 127.0.0.1:0 and an in-memory Podman, builds agents that talk to it.
 * `real` makes agents run the real applyStack (each apply's commands kept in `applyRuns`); otherwise
 * applies are recorded and succeed at once.
 */
async function fixture(t: Ctx, o: { real?: boolean; holdMs?: number; applyHoldMs?: number } = {}) {
  const dirs = tempDirs();
  const cp = new TestControlPlane(o.holdMs ?? 100);
  await cp.listen();
  const podman = new FakePodman();
  const rec = recordingApply(dirs.home);
  const { log, records } = captureLog();
  const applyRuns: string[][] = [];
  /** What anyone ran through the shared Podman while each apply was in progress. */
  const duringApplies: string[][] = [];
  const realApply: ApplyFn = async (opts) => {
    const r = new RecordingExecutor(opts.executor);
    const from = podman.log.length;
    try {
      const result = await applyStack({ ...opts, executor: r });
      // Holding the apply open gives a supervisor pass every chance to overlap it.
      await new Promise((done) => setTimeout(done, o.applyHoldMs ?? 0));
      return result;
    } finally {
      applyRuns.push(r.log.map((c) => c.argv.join(' ')));
      duringApplies.push(podman.log.slice(from));
    }
  };
  const agents: RemoteAgent[] = [];
  const make = (extra: Partial<RemoteAgentOptions> = {}) => {
    const a = new RemoteAgent({
      controlUrl: cp.url,
      dataDir: dirs.dataDir,
      executor: podman,
      log,
      joinToken: TestControlPlane.JOIN_TOKEN,
      name: 'node-a',
      labels: { zone: 'a' },
      ensureUser: async (s) => testUser(s, dirs.home),
      pollHoldMs: o.holdMs ?? 100,
      reportIntervalMs: 50,
      superviseIntervalMs: 30,
      pollBackoff: { initialMs: 20, maxMs: 200 },
      applyRetry: { initialMs: 50, maxMs: 50 },
      apply: o.real ? realApply : rec.apply,
      ...extra,
    });
    agents.push(a);
    return a;
  };
  t.after(async () => {
    for (const a of agents) await a.stop();
    await cp.close();
  });
  /** A store whose Varnish port is fixed, so no port probing happens in tests. */
  const shop = (v: number, extra: Record<string, unknown> = {}): DesiredStore =>
    desired('shop', v, dirs.sourceDir, {
      app: { code: './app' },
      services: { varnish: { port: 18_199 } },
      ...extra,
    });
  return { dirs, cp, podman, rec, log, records, applyRuns, duringApplies, make, shop };
}

test('joins once, keeps the identity 0600, and reuses it after a restart without joining again', async (t) => {
  const f = await fixture(t);
  const first = f.make();
  await first.start();
  assert.deepEqual(f.cp.joins, [
    { joinToken: TestControlPlane.JOIN_TOKEN, name: 'node-a', labels: { zone: 'a' } },
  ]);
  const file = remoteLayout(f.dirs.dataDir).identity;
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
    nodeId: TestControlPlane.NODE_ID,
    agentToken: TestControlPlane.AGENT_TOKEN,
    controlUrl: f.cp.url,
  });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await f.cp.until('a poll', () => f.cp.polls.length > 0);
  await first.stop();

  // WHEN the agent restarts without a join token THEN it uses the saved identity.
  const second = f.make({ joinToken: undefined });
  await second.start();
  await f.cp.until('polls after the restart', () => f.cp.polls.length >= 3);
  assert.equal(f.cp.joins.length, 1);
  assert.ok(f.cp.polls.every((p) => p.authorized));
  assert.equal(second.stats().nodeId, TestControlPlane.NODE_ID);
});

const failures: {
  name: string;
  prepare?: (dataDir: string) => void;
  extra: Partial<RemoteAgentOptions>;
  code: string;
}[] = [
  {
    name: 'fails to start without identity or join token',
    extra: { joinToken: undefined },
    code: 'TP_AGENT_JOIN_TOKEN_MISSING',
  },
  {
    name: 'fails to start when the join is refused',
    extra: { joinToken: 'wrong' },
    code: 'TP_AGENT_JOIN_FAILED',
  },
  {
    name: 'fails to start with a name that is not a host name',
    extra: { name: 'Node A' },
    code: 'TP_AGENT_JOIN_INVALID',
  },
  {
    name: 'fails to start when the control plane cannot be reached to join',
    extra: { controlUrl: 'http://127.0.0.1:1' },
    code: 'TP_AGENT_JOIN_FAILED',
  },
  {
    name: 'fails to start under another control plane than the one it joined',
    prepare: (d) => writeIdentity(d, { nodeId: 'n', agentToken: 't', controlUrl: 'http://10.0.0.1:7070' }),
    extra: {},
    code: 'TP_AGENT_IDENTITY_MISMATCH',
  },
];

for (const c of failures) {
  test(c.name, async (t) => {
    const f = await fixture(t);
    c.prepare?.(f.dirs.dataDir);
    const agent = f.make(c.extra);
    await assert.rejects(agent.start(), (e: unknown) => e instanceof AgentError && e.code === c.code);
    assert.equal(existsSync(layout(f.dirs.dataDir).agentPid), false, 'the data directory is released');
    if (!c.prepare) assert.equal(existsSync(remoteLayout(f.dirs.dataDir).identity), false);
  });
}

test('polls again at once after a 204, then asks only for versions after the one received', async (t) => {
  const f = await fixture(t, { holdMs: 40 });
  const agent = f.make();
  await agent.start();
  await f.cp.until('four polls', () => f.cp.polls.length >= 4);
  assert.ok(f.cp.polls.every((p) => p.after === 0));
  const gaps = f.cp.polls.slice(1, 4).map((p, i) => p.at - f.cp.polls[i]!.at);
  assert.ok(
    gaps.every((g) => g >= 35 && g < 1_000),
    `polls held ~40 ms each, gaps ${gaps.join(', ')}`,
  );
  f.cp.publish(nodeDesired(5, [f.shop(1)]));
  await f.cp.until('a poll after 5', () => f.cp.polls.some((p) => p.after === 5));
  assert.equal(agent.stats().pollErrors, 0);
});

test('backs off after errors, doubling, and polls normally once the control plane answers again', async (t) => {
  const f = await fixture(t);
  f.cp.failPolls.push(500, 503, 401, 500);
  const agent = f.make({ pollBackoff: { initialMs: 40, maxMs: 1_000 } });
  await agent.start();
  await f.cp.until('the fifth poll', () => f.cp.polls.length >= 5);
  const gaps = f.cp.polls.slice(1, 5).map((p, i) => p.at - f.cp.polls[i]!.at);
  // 40, 80, 160, 320 ms less up to 20 % jitter.
  for (const [i, base] of [40, 80, 160, 320].entries())
    assert.ok(gaps[i]! >= base * 0.8 - 5, `gap ${i} was ${gaps[i]} ms, expected about ${base}`);
  assert.equal(agent.stats().pollErrors, 4);
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('the apply', () => f.rec.calls.length === 1);
  assert.equal(agent.stats().consecutivePollErrors, 0);
  assert.match(
    agent.stats().lastPollError?.message ?? '',
    /^TP_AGENT_CONTROL_STATUS: control plane answered 500/,
  );
});

test('ignores an invalid desired state, logs every problem, and applies the next valid one', async (t) => {
  const f = await fixture(t);
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('version 1 applied', () => f.rec.calls.length === 1);
  f.cp.publish({
    nodeId: TestControlPlane.NODE_ID,
    version: 2,
    stores: [{ ...f.shop(2), stackVersion: 0, sourceDir: 'x' }],
  });
  await f.cp.until('a poll after 2', () => f.cp.polls.some((p) => p.after === 2));
  const rejected = f.records.find((r) => r.code === 'TP_AGENT_DESIRED_INVALID');
  assert.deepEqual(rejected?.problems, [
    'stores[0].stackVersion: Too small: expected number to be >=1',
    'stores[0].sourceDir: Invalid string: must start with "/"',
  ]);
  assert.equal(f.rec.calls.length, 1, 'nothing was applied from the invalid state');
  assert.deepEqual(
    {
      after: agent.stats().after,
      desiredVersion: agent.stats().desiredVersion,
      invalid: agent.stats().invalidDesired,
    },
    { after: 2, desiredVersion: 1, invalid: 1 },
  );
  f.cp.publish(nodeDesired(3, [f.shop(2)]));
  // The record is written when the apply has finished, a little after it was called.
  await f.cp.until('version 3 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 2);
  assert.equal(f.rec.calls.length, 2);
});

test('applies a new version once, and not again after a restart', async (t) => {
  const f = await fixture(t);
  const first = f.make();
  await first.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('the apply', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 1);
  const polled = f.cp.polls.length;
  await f.cp.until('two more polls', () => f.cp.polls.length >= polled + 2);
  await first.stop();

  const second = f.make();
  await second.start();
  await f.cp.until('the restarted agent to receive version 1', () => second.stats().desiredVersion === 1);
  await f.cp.until('a poll after 1', () => f.cp.polls.filter((p) => p.after === 1).length >= 3);
  assert.equal(f.rec.calls.length, 1, 'applied.json kept version 1 from being applied again');
  f.cp.publish(nodeDesired(2, [f.shop(2)]));
  await f.cp.until('version 2 applied', () => f.rec.calls.length === 2);
});

test('reports each store in NodeReport form: version, health, containers, Varnish and app upstreams', async (t) => {
  const f = await fixture(t, { real: true });
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('a converged report', () => f.cp.reports.some((r) => r.stores[0]?.converged));
  assert.deepEqual(f.cp.badReports, []);
  const r = f.cp.reports.find((x) => x.stores[0]?.converged)!;
  assert.equal(r.desiredVersion, 1);
  const s = r.stores[0]!;
  const appPort = readJson<StoreRecord>(layout(f.dirs.dataDir).record('shop'))?.appPorts?.[0];
  assert.equal(typeof appPort, 'number');
  assert.deepEqual(
    { store: s.store, stackVersion: s.stackVersion, error: s.error, upstreams: s.upstreams },
    {
      store: 'shop',
      stackVersion: 1,
      error: null,
      upstreams: [
        { role: 'varnish', host: '127.0.0.1', port: 18_199, healthy: true },
        { role: 'app', host: '127.0.0.1', port: appPort, healthy: true },
      ],
    },
  );
  assert.deepEqual(
    s.containers.map((c) => c.name),
    [...f.podman.containers.keys()].sort(),
  );
  assert.ok(
    s.containers.length >= 5 && s.containers.every((c) => c.health === 'healthy' && c.user === 'tp-shop'),
  );
});

test('reports a failed apply with its coded error and without a version', async (t) => {
  const f = await fixture(t);
  f.rec.failWith(() => new AgentError('TP_IMAGE_MISSING', 'image localhost/x is neither built nor pullable'));
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('a report with the error', () =>
    f.cp.reports.some((r) => r.stores[0]?.error !== null && r.stores.length > 0),
  );
  const s = f.cp.reports.find((r) => r.stores[0]?.error)!.stores[0]!;
  assert.deepEqual(
    { stackVersion: s.stackVersion, converged: s.converged, error: s.error, upstreams: s.upstreams },
    {
      stackVersion: null,
      converged: false,
      error: 'TP_IMAGE_MISSING: image localhost/x is neither built nor pullable',
      upstreams: [],
    },
  );
});

test('an unchanged spec under a new version is applied with read-only Podman commands only', async (t) => {
  const f = await fixture(t, { real: true });
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('version 1 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 1);
  f.cp.publish(nodeDesired(2, [f.shop(2)]));
  await f.cp.until('version 2 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 2);
  assert.equal(f.applyRuns.length, 2);
  assert.ok(
    f.applyRuns[0]!.some((a) => / podman run /.test(a)),
    'the first apply created containers',
  );
  const mutating = f.applyRuns[1]!.filter((a) => a.includes('podman') && !READ_ONLY.test(a));
  assert.deepEqual(mutating, []);
  assert.ok(
    f.applyRuns[1]!.some((a) => / podman ps /.test(a)),
    'the second apply did look at the running containers',
  );
  assert.deepEqual(
    f.applyRuns[1]!.filter((a) => !a.includes('podman')),
    [],
    'no file commands either',
  );
});

test('keeps supervising what it applied while the control plane is down, and resumes when it returns', async (t) => {
  const f = await fixture(t, { real: true });
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('version 1 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 1);
  const running = [...f.podman.containers.keys()];

  await f.cp.close();
  const before = { stats: agent.stats(), log: f.podman.log.length };
  await f.cp.until('three failed polls', () => agent.stats().pollErrors >= before.stats.pollErrors + 3);
  await f.cp.until('a lost report', () => agent.stats().reportFailures > before.stats.reportFailures);
  const outage = f.podman.log.slice(before.log);
  assert.ok(
    outage.some((a) => a.includes('podman healthcheck run shop-varnish')),
    'the supervisor kept checking health',
  );
  assert.deepEqual([...f.podman.containers.keys()], running, 'nothing was removed or recreated');
  assert.match(agent.stats().lastPollError?.message ?? '', /ECONNREFUSED/);

  // WHEN the control plane is back (same address, same state) with a new version THEN it is applied.
  await f.cp.listen();
  f.cp.publish(nodeDesired(2, [f.shop(2, { app: { code: './app', replicas: { min: 2, max: 4 } } })]));
  await f.cp.until('version 2 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 2, 10_000);
  assert.ok(f.podman.containers.has('shop-app-2-php'), 'the second replica runs');
  assert.equal(agent.stats().consecutivePollErrors, 0);
  await f.cp.until('a report after the outage', () => f.cp.reports.some((r) => r.desiredVersion === 2));
});

test('supervisor passes never run while a store is being applied', async (t) => {
  const f = await fixture(t, { real: true, applyHoldMs: 200 });
  const agent = f.make();
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('version 1 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 1);
  f.cp.publish(nodeDesired(2, [f.shop(2, { app: { code: './app', replicas: { min: 2, max: 4 } } })]));
  await f.cp.until('version 2 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 2);
  assert.ok(
    f.podman.log.some((a) => a.includes('healthcheck run')),
    'the supervisor did run between the applies',
  );
  for (const during of f.duringApplies)
    assert.deepEqual(
      during.filter((a) => a.includes('healthcheck run')),
      [],
    );
});

test('after a failed supervisor pass the store users are prepared again before the next one', async (t) => {
  const f = await fixture(t, { real: true });
  let failing = false;
  const prepared: string[] = [];
  // Stands for a user whose Podman fails until it is prepared again (its state orphaned).
  const executor: Executor = {
    run: async (cmd) => {
      if (failing && cmd.argv.includes('healthcheck'))
        throw new CommandError(
          'TP_CMD_FAILED',
          'invalid internal status',
          cmd.argv,
          125,
          '',
          'invalid internal status',
        );
      return f.podman.run(cmd);
    },
  };
  const agent = f.make({
    executor,
    ensureUser: async (s) => {
      prepared.push(s);
      failing = false;
      return testUser(s, f.dirs.home);
    },
  });
  await agent.start();
  f.cp.publish(nodeDesired(1, [f.shop(1)]));
  await f.cp.until('version 1 applied', () => readApplied(f.dirs.dataDir).shop?.stackVersion === 1);
  await f.cp.until('a supervisor pass', () => f.podman.log.some((a) => a.includes('healthcheck run')));
  const before = prepared.length;
  failing = true;
  await f.cp.until('a failed pass', () => agent.stats().supervisorFailures > 0);
  await f.cp.until('the user prepared again', () => prepared.length > before);
  assert.equal(failing, false);
  const passes = f.podman.log.length;
  await f.cp.until('passes go on', () =>
    f.podman.log.slice(passes).some((a) => a.includes('healthcheck run')),
  );
});
