import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { USERDATA_PROPS as PROPS } from './testing.ts';
import {
  bootSteps,
  extractSection,
  renderUserData,
  sectionsFor,
  shellQuote,
  USERDATA_SECTIONS,
} from './userdata.ts';

describe('renderUserData', () => {
  test('each role gets the sections and steps it needs, Podman only where containers run', () => {
    assert.deepEqual(sectionsFor('app'), ['prepare-podman.sh', 'install.sh', 'units.sh', 'agent.sh']);
    assert.deepEqual(sectionsFor('edge'), ['install.sh', 'units.sh', 'edge.sh']);
    assert.deepEqual(sectionsFor('control'), ['install.sh', 'units.sh', 'control.sh']);
    assert.deepEqual(bootSteps('services'), [
      'write_environment',
      'install_tools',
      'prepare_podman',
      'install_node',
      'install_triplane',
      'attach_state_volume',
      'mount_media',
      'start_agent',
    ]);
    assert.deepEqual(bootSteps('edge'), [
      'write_environment',
      'install_tools',
      'install_node',
      'install_triplane',
      'start_edge',
    ]);
  });

  test('every function a role calls is defined by its sections', () => {
    for (const role of ['edge', 'app', 'admin', 'services', 'control'] as const) {
      const script = renderUserData({ ...PROPS, role });
      for (const step of bootSteps(role))
        assert.match(script, new RegExp(`^${step}\\(\\) \\{`, 'm'), `${role}: ${step}`);
    }
  });

  test('the script is valid bash and sets its variables quoted', () => {
    const script = renderUserData({ ...PROPS, role: 'app', variables: { TRIPLANE_DB_HOST: "db'host" } });
    const check = spawnSync('bash', ['-n'], { input: script });
    assert.equal(check.status, 0, check.stderr.toString());
    assert.match(script, /^export TRIPLANE_DB_HOST='db'\\''host'$/m);
    assert.match(script, /^export TRIPLANE_ROLE='app'$/m);
  });

  test('a quoted value comes back out of bash unchanged', () => {
    for (const value of ["it's", '$HOME `id` "x"', 'a\nb', '']) {
      assert.equal(execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`]).toString(), value);
    }
  });

  test('rejects a variable that is not TRIPLANE_*', () => {
    assert.throws(
      () => renderUserData({ ...PROPS, role: 'app', variables: { PATH: '/tmp' } }),
      /PATH must be TRIPLANE_\*/,
    );
  });

  test('sections are the files under userdata/, between markers', () => {
    const script = renderUserData({ ...PROPS, role: 'app' });
    for (const name of sectionsFor('app')) {
      const file = readFileSync(new URL(`./userdata/${name}`, import.meta.url), 'utf8');
      assert.equal(extractSection(script, name), file.trimEnd());
    }
    assert.throws(() => extractSection(script, 'control.sh'), /no section control\.sh/);
    assert.equal(USERDATA_SECTIONS.length, 6);
  });
});
