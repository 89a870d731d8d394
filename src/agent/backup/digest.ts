import { fileURLToPath } from 'node:url';
import type { DumpDigest, MediaManifest } from '../../contracts/backup.ts';
import type { Command, Executor } from '../executor.ts';
import { bounded } from './commands.ts';

/** A digest to take: of a dump file (per-table rows and checksums) or of a media tree. */
export type DigestJob =
  | { readonly kind: 'dump'; readonly path: string; readonly database: string }
  | { readonly kind: 'media'; readonly root: string };

type Result<J extends DigestJob> = J extends { kind: 'dump' } ? DumpDigest : MediaManifest;

const MAIN = fileURLToPath(new URL('./digest-main.ts', import.meta.url));

/** Node as the agent runs: its executable and flags (the TypeScript loader among them). */
export const AGENT_NODE: readonly string[] = Object.freeze([process.execPath, ...process.execArgv]);

/**
 * The command that takes a digest: a Node process of its own at the lowest CPU and I/O priority and
 * the idle policy, as every other command of a backup. Hashing a dump and the media is CPU work of
 * the size of the data; in the agent's process it would run at the agent's priority, an equal of the
 * storefront, and a thread of it can be given a niceness but not the idle policy (Node has no call
 * for it), so it would still hold a core against a storefront process woken there until its slice
 * ends (bench/wakeup-latency.ts). The result is JSON on standard output.
 */
export function digestCommand(job: DigestJob, node: readonly string[] = AGENT_NODE): Command {
  const args = job.kind === 'dump' ? ['dump', job.path, job.database] : ['media', job.root];
  return bounded({ argv: [...node, MAIN, ...args], timeoutMs: 6 * 3600_000 });
}

/** Takes a digest with {@link digestCommand}. */
export async function digest<J extends DigestJob>(
  ex: Executor,
  job: J,
  node: readonly string[] = AGENT_NODE,
): Promise<Result<J>> {
  const r = await ex.run(digestCommand(job, node));
  return JSON.parse(r.stdout) as Result<J>;
}
