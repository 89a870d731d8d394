import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { AgentError, CommandError } from '../errors.ts';
import type { Command, CommandResult, Executor } from '../executor.ts';
import { type BuildProgress, buildImages } from './build.ts';
import { IMAGES, IMAGES_DIR, type ImageName, imageRef } from './catalogue.ts';

/** Answers `podman image exists` from a set of references, fails one chosen argv, records the rest. */
class FakePodman implements Executor {
  readonly argvs: string[][] = [];
  constructor(
    private readonly existing: Set<string>,
    private readonly failWhen: (argv: readonly string[]) => boolean = () => false,
  ) {}
  async run(cmd: Command): Promise<CommandResult> {
    const argv = [...cmd.argv];
    this.argvs.push(argv);
    const result = { argv, stdout: '', stderr: '', durationMs: 1 };
    if (this.failWhen(argv)) {
      const stdout = ['STEP 2/5: RUN apt-get install', 'E: Unable to locate package php8.2-nope'].join('\n');
      throw new CommandError(
        'TP_CMD_FAILED',
        'podman build exited 1',
        argv,
        1,
        stdout,
        'Error: building at STEP 2',
      );
    }
    if (argv[1] === 'image' && argv[2] === 'exists') {
      return { ...result, exitCode: this.existing.has(argv[3]!) ? 0 : 1 };
    }
    return { ...result, exitCode: 0 };
  }
  /** The argvs that built or imported something (not existence checks or tags). */
  builds(): string[][] {
    return this.argvs.filter((a) => a[0] === 'mmdebstrap' || a[1] === 'build' || a[1] === 'import');
  }
}

const allRefs = () => new Set(IMAGES.map((s) => imageRef(s.name)));

test('GIVEN every hash tag exists WHEN building THEN nothing is built and latest follows the hash', async () => {
  const podman = new FakePodman(allRefs());
  const events: BuildProgress[] = [];
  const built = await buildImages({ executor: podman, onProgress: (e) => events.push(e) });

  assert.deepEqual(podman.builds(), []);
  assert.deepEqual(
    events.map((e) => `${e.image}:${e.phase}`),
    IMAGES.map((s) => `${s.name}:skip`),
  );
  assert.deepEqual(podman.argvs.slice(0, 2), [
    ['podman', 'image', 'exists', imageRef('base')],
    ['podman', 'tag', imageRef('base'), 'localhost/triplane/base:latest'],
  ]);
  assert.ok(built.every((b) => !b.built));
});

test('GIVEN only the base exists WHEN building THEN the others are built in catalogue order on their parent hash tag', async () => {
  const podman = new FakePodman(new Set([imageRef('base')]));
  const built = await buildImages({ executor: podman });

  const builds = podman.builds();
  assert.deepEqual(
    builds.map((a) => a.at(-1)),
    IMAGES.filter((s) => s.name !== 'base').map((s) => `${IMAGES_DIR}/${s.name}`),
  );
  const cron = builds.find((a) => a.at(-1)!.endsWith('/cron'))!;
  assert.ok(cron.includes(`BASE_IMAGE=${imageRef('php-fpm')}`));
  assert.ok(cron.includes(imageRef('cron')));
  assert.deepEqual(
    built.map((b) => [b.image, b.built]),
    IMAGES.map((s) => [s.name, s.name !== 'base']),
  );
});

test('GIVEN nothing exists WHEN building the base THEN mmdebstrap writes into a temp dir that is removed', async () => {
  const podman = new FakePodman(new Set());
  await buildImages({ executor: podman, only: ['base'], aptSources: '/srv/debian.sources' });

  const [debootstrap, imported] = podman.builds();
  assert.equal(debootstrap![0], 'mmdebstrap');
  assert.equal(debootstrap!.at(-1), '/srv/debian.sources');
  const tarball = debootstrap!.at(-2)!;
  assert.match(tarball, /triplane-base-.+\/base\.tar$/);
  assert.deepEqual(imported!.slice(-2), [tarball, imageRef('base')]);
  assert.equal(existsSync(tarball.replace(/\/base\.tar$/, '')), false);
  assert.deepEqual(podman.argvs.at(-1), [
    'podman',
    'tag',
    imageRef('base'),
    'localhost/triplane/base:latest',
  ]);
});

test('GIVEN only cron is asked for THEN its ancestors are checked and nothing else', async () => {
  const podman = new FakePodman(allRefs());
  const built = await buildImages({ executor: podman, only: ['cron'] });
  assert.deepEqual(
    built.map((b) => b.image),
    ['base', 'php-fpm', 'cron'] satisfies ImageName[],
  );
});

test('GIVEN force with only WHEN everything exists THEN only the named image is rebuilt', async () => {
  const podman = new FakePodman(allRefs());
  await buildImages({ executor: podman, only: ['nginx'], force: true });
  assert.deepEqual(
    podman.builds().map((a) => a.at(-1)),
    [`${IMAGES_DIR}/nginx`],
  );
});

test('fails with TP_IMAGE_BUILD_FAILED naming the image and the tail of its output, and stops there', async () => {
  const podman = new FakePodman(new Set([imageRef('base')]), (argv) => argv.at(-1)!.endsWith('/php-fpm'));
  const events: BuildProgress[] = [];
  await assert.rejects(
    buildImages({ executor: podman, onProgress: (e) => events.push(e) }),
    (err: unknown) => {
      assert.ok(err instanceof AgentError);
      assert.equal(err.code, 'TP_IMAGE_BUILD_FAILED');
      assert.match(
        err.message,
        /^image php-fpm \(localhost\/triplane\/php-fpm:[0-9a-f]{12}\) failed to build:/,
      );
      assert.match(err.message, /E: Unable to locate package php8\.2-nope\nError: building at STEP 2$/);
      assert.deepEqual(err.details, { image: 'php-fpm', ref: imageRef('php-fpm') });
      return true;
    },
  );
  assert.deepEqual(
    events.map((e) => `${e.image}:${e.phase}`),
    ['base:skip', 'php-fpm:start', 'php-fpm:fail'],
  );
  assert.equal(podman.builds().length, 1);
});

test('fails with TP_IMAGE_UNKNOWN before running anything when a name is not an image', async () => {
  const podman = new FakePodman(allRefs());
  await assert.rejects(buildImages({ executor: podman, only: ['redis', 'memcached'] }), {
    code: 'TP_IMAGE_UNKNOWN',
    message: /unknown image memcached \(known: base, php-fpm/,
  });
  assert.deepEqual(podman.argvs, []);
});
