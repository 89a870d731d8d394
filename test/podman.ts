import { spawnSync } from 'node:child_process';

/** Runs podman as a store's unix user, as the agent does, and returns its output. */
export function podmanAs(store: string, args: readonly string[]) {
  const user = `tp-${store}`;
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim();
  const home = `/home/${user}`;
  const r = spawnSync('runuser', ['-u', user, '--', 'podman', ...args], {
    encoding: 'utf8',
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: `/run/user/${uid}` },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Host PID of a container's main process. */
export function mainPid(store: string, container: string): number {
  const r = podmanAs(store, ['inspect', '--format', '{{.State.Pid}}', container]);
  return Number(r.stdout.trim());
}
