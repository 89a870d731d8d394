import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ProcessExecutor } from '../src/agent/executor.ts';
import { planHostConfig, SYSCTL_TEXT } from '../src/agent/host/config.ts';
import { REQUIRED_PACKAGES } from '../src/agent/host/facts.ts';
import { probeHost } from '../src/agent/host/probe.ts';
import { USERDATA_PROPS as PROPS } from '../src/cloud/aws/testing.ts';
import { extractSection, renderUserData, shellQuote } from '../src/cloud/aws/userdata.ts';

// The boot script of the AWS hosts prepares Podman in bash, and `triplane host prepare` does it in
// TypeScript: the two must install the same packages and write the same drop-in.
const SECTION = readFileSync(new URL('../src/cloud/aws/userdata/prepare-podman.sh', import.meta.url), 'utf8');
const bash = (call: string) =>
  execFileSync('bash', ['-c', `set -euo pipefail\n${SECTION}\n${call}`], { encoding: 'utf8' });

test('the boot script requires exactly the packages `host prepare` installs', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash array expansion, not a template
  assert.deepEqual(bash('printf "%s\\n" "${TRIPLANE_PODMAN_PACKAGES[@]}"').trim().split('\n'), [
    ...REQUIRED_PACKAGES,
  ]);
});

test('the boot script writes the same kernel settings as `host prepare`', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash variable, not a template
  assert.equal(bash('printf "%s\\n" "${TRIPLANE_SYSCTL_TEXT}"'), SYSCTL_TEXT);
});

test('the boot script derives the same drop-in as `host prepare` from this host', async () => {
  const facts = await probeHost(new ProcessExecutor());
  assert.equal(`${bash('podman_drop_in_text')}`, planHostConfig(facts).text);
});

const DROP_IN = '/etc/containers/containers.conf.d/50-triplane.conf';

// The Podman part of the boot script runs for real on this host, which `triplane host prepare` has
// already prepared (store.test.ts runs before this file): it must find nothing to do, change
// nothing, and leave Podman working.
describe('prepare_podman on this host', () => {
  const script = renderUserData({ ...PROPS, role: 'app' });
  const section = extractSection(script, 'prepare-podman.sh');
  const runPrepare = (extra = '') =>
    execFileSync('bash', ['-c', `set -euo pipefail\n${section}\n${extra}\nprepare_podman`], {
      encoding: 'utf8',
      timeout: 120_000,
    });

  test('finds a prepared host prepared, rewrites nothing, and Podman runs with the settings it names', () => {
    // GIVEN the host as it is
    const before = {
      text: readFileSync(DROP_IN, 'utf8'),
      mtime: statSync(DROP_IN).mtimeMs,
      tun: statSync('/dev/net/tun').mode,
    };
    // WHEN the section runs twice
    const first = runPrepare();
    const second = runPrepare();
    // THEN it reports nothing to do, and the drop-in and the tun device are untouched
    const expected = [
      'prepare_podman: packages: all installed',
      'prepare_podman: drop-in: current',
      'prepare_podman: scheduler: current',
      'prepare_podman: tun: usable by store users',
      'prepare_podman: podman works',
    ];
    assert.deepEqual(first.trim().split('\n'), expected);
    assert.equal(second, first);
    assert.equal(readFileSync(DROP_IN, 'utf8'), before.text);
    assert.equal(statSync(DROP_IN).mtimeMs, before.mtime);
    assert.equal(statSync('/dev/net/tun').mode, before.tun);
    // AND Podman runs with the runtime, cgroup manager and events logger the drop-in sets
    const info = JSON.parse(
      execFileSync('podman', ['info', '--format', 'json'], { encoding: 'utf8', timeout: 60_000 }),
    ) as {
      host: { ociRuntime: { name: string }; cgroupManager: string; eventLogger: string };
    };
    const setting = (key: string) => new RegExp(`^${key} = "([^"]+)"$`, 'm').exec(before.text)?.[1];
    assert.equal(info.host.ociRuntime.name, setting('runtime'));
    assert.equal(info.host.cgroupManager, setting('cgroup_manager'));
    assert.equal(info.host.eventLogger, setting('events_logger'));
  });

  test('writes a missing drop-in with the settings this host has, then finds it current', () => {
    // The drop-in path is pointed at a scratch file, so the host's own configuration is not touched.
    const dir = mkdtempSync(join(tmpdir(), 'triplane-dropin-'));
    const target = join(dir, 'containers.conf.d', '50-triplane.conf');
    try {
      const first = runPrepare(`TRIPLANE_DROP_IN=${shellQuote(target)}`);
      assert.match(first, /drop-in: writing /);
      assert.ok(existsSync(target));
      const settings = (text: string) =>
        text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && !l.startsWith('#'));
      assert.deepEqual(settings(readFileSync(target, 'utf8')), settings(readFileSync(DROP_IN, 'utf8')));
      assert.equal(statSync(target).mode & 0o777, 0o644);
      const second = runPrepare(`TRIPLANE_DROP_IN=${shellQuote(target)}`);
      assert.match(second, /drop-in: current/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
