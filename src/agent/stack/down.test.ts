import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedExecutor } from '../host/testing.ts';
import { TEST_USER } from '../podman/testing.ts';
import { removePods } from './down.ts';

const u = TEST_USER;
const MID_RESTART =
  'Error: 1 error occurred: | * removing container 0e79 from pod e81b: cannot remove container 0e79 as it could not be stopped: sending SIGKILL to container 0e79: container state improper: stopped';

test('pods caught with a container mid-restart are removed again, only those still there', async () => {
  let removals = 0;
  const ex = new ScriptedExecutor((cmd) => {
    const args = cmd.argv.slice(4).join(' ');
    if (args.startsWith('podman pod rm')) {
      removals++;
      return removals === 1 ? { exitCode: 125, stderr: MID_RESTART } : {};
    }
    if (args.startsWith('podman pod ps')) return { stdout: '[{"Name":"demo-app-2"}]' };
    return undefined;
  });
  await removePods(ex, u, ['demo-app-1', 'demo-app-2'], { pauseMs: 1 });
  assert.deepEqual(
    ex.lines.map((l) => l.replace('runuser -u tp-demo -- ', '')),
    [
      'podman pod rm --force --time 10 demo-app-1 demo-app-2',
      'podman pod ps --format json --filter label=triplane.store=demo',
      'podman pod rm --force --time 10 demo-app-2',
    ],
  );
});

test('any other failure, or one that lasts, is thrown', async () => {
  const failing = (stderr: string) =>
    new ScriptedExecutor((cmd) =>
      cmd.argv.includes('rm') ? { exitCode: 125, stderr } : { stdout: '[{"Name":"demo-app-1"}]' },
    );
  const other = failing('Error: no such pod');
  await assert.rejects(removePods(other, u, ['demo-app-1'], { pauseMs: 1 }), /no such pod/);
  assert.equal(other.log.length, 1, 'not tried again');
  const lasting = failing(MID_RESTART);
  await assert.rejects(removePods(lasting, u, ['demo-app-1'], { pauseMs: 1, attempts: 3 }), /state improper/);
  assert.equal(lasting.lines.filter((l) => l.includes('pod rm')).length, 3);
});
