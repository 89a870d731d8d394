import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `./triplane` with arguments, as a user would, and returns how it ended. */
export function triplane(args: readonly string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  const r = spawnSync(`${ROOT}triplane`, args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
