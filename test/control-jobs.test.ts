import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JOBS_NICENESS, jobsCommand } from '../src/control/jobs/index.ts';
import { openState } from '../src/control/state/index.ts';
import { SCHED_IDLE, statField } from './control-harness.ts';

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
