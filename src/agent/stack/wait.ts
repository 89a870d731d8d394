import type { Executor } from '../executor.ts';
import { healthcheckRun } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import { inspectStore } from './status.ts';

/**
 * Runs every container's health check until all pass, so `up` returns only when the whole store
 * (RabbitMQ included, which starts slowly) is ready. Returns the containers still failing at the end.
 */
export async function waitHealthy(
  ex: Executor,
  u: StoreUser,
  timeoutMs: number,
  onWait: (pending: readonly string[]) => void = () => {},
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const pending: string[] = [];
    for (const c of await inspectStore(ex, u)) {
      const healthy = c.state === 'running' && (await ex.run(healthcheckRun(u, c.name))).exitCode === 0;
      if (!healthy) pending.push(c.name);
    }
    if (pending.length === 0 || Date.now() > deadline) return pending;
    if (Date.now() - lastReport > 5000) {
      onWait(pending);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
