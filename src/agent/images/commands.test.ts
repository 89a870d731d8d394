import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  mmdebstrapArgv,
  podmanBuildArgv,
  podmanImageExistsArgv,
  podmanImportArgv,
  podmanTagArgv,
} from './commands.ts';

test('mmdebstrap makes a minbase bookworm tarball from the host apt sources, without docs or recommends', () => {
  assert.deepEqual(
    mmdebstrapArgv({ output: '/tmp/x/base.tar', aptSources: '/etc/apt/sources.list.d/debian.sources' }),
    [
      'mmdebstrap',
      '--variant=minbase',
      '--include=bash,ca-certificates',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      '--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata',
      '--aptopt=Acquire::Check-Valid-Until "false"',
      '--aptopt=APT::Install-Recommends "false"',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--dpkgopt=path-exclude=/usr/share/info/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=force-unsafe-io',
      'bookworm',
      '/tmp/x/base.tar',
      '/etc/apt/sources.list.d/debian.sources',
    ],
  );
});

test('podman import gives the base bash as its command and the hash label', () => {
  assert.deepEqual(
    podmanImportArgv('/tmp/x/base.tar', 'localhost/triplane/base:0123456789ab', 'f'.repeat(64)),
    [
      'podman',
      'import',
      '--change',
      'CMD ["/bin/bash"]',
      '--change',
      `LABEL triplane.image.hash=${'f'.repeat(64)}`,
      '/tmp/x/base.tar',
      'localhost/triplane/base:0123456789ab',
    ],
  );
});

test('podman build uses the host network, never pulls, and tags latest and the hash', () => {
  const argv = podmanBuildArgv({
    dir: '/repo/images/nginx',
    repository: 'localhost/triplane/nginx',
    hash: 'a'.repeat(64),
    hashTag: 'aaaaaaaaaaaa',
    parentRef: 'localhost/triplane/base:bbbbbbbbbbbb',
  });
  assert.deepEqual(argv, [
    'podman',
    'build',
    '--network=host',
    '--pull=never',
    '--label',
    `triplane.image.hash=${'a'.repeat(64)}`,
    '--build-arg',
    'BASE_IMAGE=localhost/triplane/base:bbbbbbbbbbbb',
    '-t',
    'localhost/triplane/nginx:latest',
    '-t',
    'localhost/triplane/nginx:aaaaaaaaaaaa',
    '-f',
    '/repo/images/nginx/Containerfile',
    '/repo/images/nginx',
  ]);
});

test('podman tag and image exists take the references as given', () => {
  assert.deepEqual(podmanTagArgv('localhost/triplane/redis:abc', 'localhost/triplane/redis:latest'), [
    'podman',
    'tag',
    'localhost/triplane/redis:abc',
    'localhost/triplane/redis:latest',
  ]);
  assert.deepEqual(podmanImageExistsArgv('localhost/triplane/redis:abc'), [
    'podman',
    'image',
    'exists',
    'localhost/triplane/redis:abc',
  ]);
});
