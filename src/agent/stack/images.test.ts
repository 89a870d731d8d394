import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command, CommandResult, Executor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import { ensureStoreImages } from './images.ts';

const u: StoreUser = {
  store: 'demo',
  user: 'tp-demo',
  uid: 1001,
  gid: 1001,
  home: '/tmp/nonexistent-tp-demo',
  runtimeDir: '/run/user/1001',
};

/** Answers `image inspect` from two image tables (root's and the user's) and records every argv. */
function fakePodman(
  root: Record<string, string>,
  user: Record<string, string>,
  pullable: Record<string, string> = {},
) {
  const log: string[] = [];
  const ex: Executor = {
    async run(cmd: Command): Promise<CommandResult> {
      const argv = cmd.argv.join(' ');
      log.push(argv);
      const asUser = argv.startsWith('runuser');
      const ref = cmd.argv.at(-1)!;
      let out = { exitCode: 0, stdout: '', stderr: '' };
      if (argv.includes('image inspect')) {
        const id = (asUser ? user : root)[ref];
        out = id
          ? { exitCode: 0, stdout: `${id}\n`, stderr: '' }
          : { exitCode: 125, stdout: '', stderr: 'no such image' };
      } else if (argv.includes(' load ')) {
        for (const [r, id] of Object.entries(root)) user[r] = id;
      } else if (argv.includes(' pull ')) {
        if (pullable[ref]) user[ref] = pullable[ref];
        else out = { exitCode: 125, stdout: '', stderr: 'Error: initializing source: connection refused' };
      }
      return { argv: cmd.argv, durationMs: 0, ...out };
    },
  };
  return { ex, log };
}

test('copies only the images whose IDs differ from root, in one archive', async () => {
  const { ex, log } = fakePodman(
    { 'localhost/a': 'A2', 'localhost/b': 'B1' },
    { 'localhost/a': 'A1', 'localhost/b': 'B1' },
  );
  const ids = await ensureStoreImages(ex, u, ['localhost/a', 'localhost/b']);
  assert.deepEqual(ids, { 'localhost/b': 'B1', 'localhost/a': 'A2' });
  assert.deepEqual(
    log.filter((l) => !l.includes('inspect')),
    [
      'podman save --multi-image-archive --output /tmp/nonexistent-tp-demo/.triplane-images.tar localhost/a',
      'runuser -u tp-demo -- podman load --input /tmp/nonexistent-tp-demo/.triplane-images.tar',
    ],
  );
});

test('runs only read-only commands when the user already has every image', async () => {
  const { ex, log } = fakePodman({ 'localhost/a': 'A' }, { 'localhost/a': 'A' });
  await ensureStoreImages(ex, u, ['localhost/a']);
  assert.ok(log.every((l) => l.includes('image inspect')));
});

test('pulls an upstream image as the store user', async () => {
  const { ex, log } = fakePodman({}, {}, { 'docker.io/library/redis:7': 'R7' });
  assert.deepEqual(await ensureStoreImages(ex, u, ['docker.io/library/redis:7']), {
    'docker.io/library/redis:7': 'R7',
  });
  assert.ok(log.includes('runuser -u tp-demo -- podman pull docker.io/library/redis:7'));
});

test('fails a local image that was never built, naming it and the fix', async () => {
  const { ex } = fakePodman({}, {});
  await assert.rejects(ensureStoreImages(ex, u, ['localhost/triplane/redis:latest']), {
    code: 'TP_IMAGE_MISSING',
    message:
      /localhost\/triplane\/redis:latest is neither built on this host nor in tp-demo's storage: run `triplane images build`/,
  });
});

test('fails an upstream image that cannot be pulled, with the registry error', async () => {
  const { ex } = fakePodman({}, {});
  await assert.rejects(ensureStoreImages(ex, u, ['quay.io/x/y:1']), {
    code: 'TP_IMAGE_MISSING',
    message:
      'image quay.io/x/y:1 is not on this host and cannot be pulled: Error: initializing source: connection refused',
  });
});
