import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropInState, planHostConfig } from './config.ts';
import { preparedFacts } from './testing.ts';

describe('planHostConfig', () => {
  const cases = [
    {
      name: 'cgroup v2 with systemd uses crun, the systemd manager and the journal',
      facts: preparedFacts({ cgroup: 'v2', systemd: true }),
      want: {
        runtime: 'crun',
        cgroupManager: 'systemd',
        eventsLogger: 'journald',
        nofile: 16384,
        nproc: 32768,
      },
    },
    {
      name: 'cgroup v2 without systemd uses crun with cgroupfs and a log file',
      facts: preparedFacts({ cgroup: 'v2', systemd: false }),
      want: { runtime: 'crun', cgroupManager: 'cgroupfs', eventsLogger: 'file', nofile: 16384, nproc: 32768 },
    },
    {
      name: 'cgroup v1 without systemd uses runc, cgroupfs and a log file',
      facts: preparedFacts({ cgroup: 'v1', systemd: false }),
      want: { runtime: 'runc', cgroupManager: 'cgroupfs', eventsLogger: 'file', nofile: 16384, nproc: 32768 },
    },
    {
      name: 'hybrid with systemd uses runc and cgroupfs but keeps the journal',
      facts: preparedFacts({ cgroup: 'hybrid', systemd: true }),
      want: {
        runtime: 'runc',
        cgroupManager: 'cgroupfs',
        eventsLogger: 'journald',
        nofile: 16384,
        nproc: 32768,
      },
    },
    {
      name: 'low hard limits cap the container limits',
      facts: preparedFacts({ hardNofile: 4096, hardNproc: 1024 }),
      want: {
        runtime: 'crun',
        cgroupManager: 'systemd',
        eventsLogger: 'journald',
        nofile: 4096,
        nproc: 1024,
      },
    },
    {
      name: 'unlimited hard limits keep the targets',
      facts: preparedFacts({ hardNofile: null, hardNproc: null }),
      want: {
        runtime: 'crun',
        cgroupManager: 'systemd',
        eventsLogger: 'journald',
        nofile: 16384,
        nproc: 32768,
      },
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const { text, ...settings } = planHostConfig(c.facts);
      assert.deepEqual(settings, c.want);
      assert.match(text, new RegExp(`^runtime = "${c.want.runtime}"$`, 'm'));
      assert.match(text, new RegExp(`nofile=${c.want.nofile}:${c.want.nofile}", "nproc=${c.want.nproc}:`));
    });
  }

  it('writes the drop-in this cgroup-hybrid host without systemd needs, setting by setting', () => {
    const { text } = planHostConfig(
      preparedFacts({ cgroup: 'hybrid', systemd: false, hardNofile: 20000, hardNproc: 96365 }),
    );
    const settings = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(settings, [
      '[containers]',
      'default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]',
      'log_driver = "k8s-file"',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'pull_policy = "never"',
    ]);
  });
});

describe('dropInState', () => {
  it('is missing when there is no file', () => {
    assert.equal(dropInState(preparedFacts({ dropIn: null })), 'missing');
  });

  it('is current when only comments and blank lines differ', () => {
    const facts = preparedFacts();
    const handWritten = planHostConfig(facts)
      .text.split('\n')
      .filter((l) => !l.startsWith('#') && l !== '')
      .join('\n');
    assert.equal(dropInState({ ...facts, dropIn: `# mine\n${handWritten}` }), 'current');
  });

  it('differs when a setting differs', () => {
    const facts = preparedFacts();
    assert.equal(dropInState({ ...facts, dropIn: facts.dropIn!.replace('"crun"', '"runc"') }), 'differs');
  });
});
