import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvironmentName } from '../../contracts/fleet.ts';
import { StoreName } from '../../contracts/stack.ts';
import { writeFileAtomic } from '../datadir.ts';
import { AgentError } from '../errors.ts';

/** Files the remote agent keeps in the data directory, in one place. */
export function remoteLayout(dataDir: string) {
  const dir = join(dataDir, 'agent');
  return {
    dir,
    /** Who this node is to the control plane, and its secret (mode 0600). */
    identity: join(dir, 'identity.json'),
    /** The stack version of each store this node last applied successfully. */
    applied: join(dir, 'applied.json'),
  };
}

/** What a node keeps after joining: its id, its agent token and the control plane that issued them. */
export const Identity = z.strictObject({
  nodeId: z.string().min(1),
  agentToken: z.string().min(1),
  controlUrl: z.string().min(1),
});
export type Identity = z.infer<typeof Identity>;

/** One store's last successful apply. */
export const AppliedStore = z.strictObject({
  stackVersion: z.int().min(1),
  environment: EnvironmentName,
  appliedAt: z.iso.datetime(),
});
export type AppliedStore = z.infer<typeof AppliedStore>;

/** The content of `applied.json`: store → its last successful apply. */
export const AppliedFile = z.record(StoreName, AppliedStore);
export type AppliedFile = z.infer<typeof AppliedFile>;

/** The same control plane written with or without a trailing slash is one control plane. */
export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

function readChecked<T>(path: string, schema: z.ZodType<T>, code: string): T | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AgentError(code, `${path}: not JSON (${(e as Error).message}); remove it to start over`, {
      path,
    });
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AgentError(code, `${path}: ${problems.join('; ')}; remove it to start over`, {
      path,
      problems,
    });
  }
  return r.data;
}

/** The saved identity, or undefined before the node has joined. */
export function readIdentity(dataDir: string): Identity | undefined {
  return readChecked(remoteLayout(dataDir).identity, Identity, 'TP_AGENT_IDENTITY_INVALID');
}

/** Saves the identity atomically and readable by root only: the agent token is a secret. */
export function writeIdentity(dataDir: string, id: Identity): void {
  const l = remoteLayout(dataDir);
  mkdirSync(l.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(l.identity, `${JSON.stringify(id, null, 2)}\n`, 0o600);
}

/** Each store's last successful apply; empty before the first. */
export function readApplied(dataDir: string): AppliedFile {
  return readChecked(remoteLayout(dataDir).applied, AppliedFile, 'TP_AGENT_APPLIED_INVALID') ?? {};
}

/** Saves what has been applied, atomically, so a restart does not apply the same versions again. */
export function writeApplied(dataDir: string, applied: AppliedFile): void {
  const l = remoteLayout(dataDir);
  mkdirSync(l.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(l.applied, `${JSON.stringify(applied, null, 2)}\n`, 0o600);
}
