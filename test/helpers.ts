import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `./triplane` with arguments, as a user would, and returns how it ended. */
export function triplane(
  args: readonly string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
) {
  const r = spawnSync(`${ROOT}triplane`, args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same, without blocking the event loop: HTTP keep-alive sockets keep seeing their peer close
 * while the command runs, so a later request never goes out on a dead connection.
 */
export function triplaneAsync(
  args: readonly string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(`${ROOT}triplane`, args, {
      timeout: opts.timeoutMs ?? 120_000,
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
