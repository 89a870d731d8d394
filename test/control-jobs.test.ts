import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JOBS_NICENESS, jobsCommand } from '../src/control/jobs/index.ts';
import { openState } from '../src/control/state/index.ts';
import { cpusAllowed, managementCpuList, SCHED_IDLE, setApartLastCpu, statField } from './control-harness.ts';
import { triplane } from './helpers.ts';

setApartLastCpu();

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the jobs process runs niced and SCHED_IDLE, runs its scheduled pruning, and stops on SIGTERM', {
  timeout: 60_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-jobsproc-'));
  const [cmd, ...args] = jobsCommand({
    node: [process.execPath, '--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs')],
    entry: join(ROOT, 'src/cli/main.ts'),
    dataDir,
  });
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const until = Date.now() + 30_000;
    while (!out.includes('jobs process started') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /jobs process started/);
    // nice, ionice and chrt exec the next program, so the child's pid ends up being Node itself.
    assert.equal(statField(child.pid!, 19), JOBS_NICENESS);
    assert.equal(statField(child.pid!, 41), SCHED_IDLE);
    // taskset execs too: the jobs process keeps to the management CPUs
    assert.equal(cpusAllowed(child.pid!), managementCpuList());
    const state = await openState({ dataDir: join(dataDir, 'control') });
    try {
      let last = (await state.jobs.history('access-log.prune'))[0];
      while (last?.status !== 'succeeded' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        last = (await state.jobs.history('access-log.prune'))[0];
      }
      assert.equal(last?.status, 'succeeded', out);
      assert.deepEqual(last?.result, { removed: 0 });
    } finally {
      await state.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /jobs process stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a management-CPU setting the host cannot honour stops the agent and the control plane, naming it', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-mgmtcpus-'));
  try {
    for (const [value, reason] of [
      ['x', 'expected all, or a CPU list such as 1 or 2-3,6'],
      ['4096', 'CPU 4096 is not one this host lets the platform use'],
    ] as const) {
      const env = { TRIPLANE_MANAGEMENT_CPUS: value };
      for (const args of [
        ['agent', '--data-dir', dataDir],
        ['control', '--data-dir', dataDir, '--listen', '127.0.0.1:1'],
      ]) {
        const r = triplane(args, { env, timeoutMs: 60_000 });
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.ok(
          r.stderr.startsWith(`error TP_MANAGEMENT_CPUS: TRIPLANE_MANAGEMENT_CPUS="${value}": ${reason}`),
          `${args[0]}: ${r.stderr}`,
        );
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
