import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { DesiredStore, NodeDesired } from '../../contracts/fleet.ts';
import { StackSpec } from '../../contracts/stack.ts';
import type { StoreUser } from '../podman/types.ts';
import type { ApplyOptions, ApplyResult } from '../stack/apply.ts';
import type { ApplyFn } from './converge.ts';

/** A pino logger whose records tests can read back. */
export function captureLog(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, records };
}

/** A fresh data directory plus a stack source directory with an `app/` code folder. */
export function tempDirs(): { dataDir: string; sourceDir: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'tp-remote-'));
  const sourceDir = join(root, 'src');
  mkdirSync(join(sourceDir, 'app'), { recursive: true });
  writeFileSync(join(sourceDir, 'app', 'index.php'), '<?php echo "hello";\n');
  const home = join(root, 'home');
  mkdirSync(home);
  return { dataDir: join(root, 'data'), sourceDir, home };
}

/** A store user that is the test process itself, so applyStack's chown calls succeed. */
export function testUser(store: string, home: string): StoreUser {
  const uid = process.getuid?.() ?? 0;
  return {
    store,
    user: `tp-${store}`,
    uid,
    gid: process.getgid?.() ?? 0,
    home: join(home, `tp-${store}`),
    runtimeDir: `/run/user/${uid}`,
  };
}

/** One desired store with a small valid spec; `extra` is merged into the spec input. */
export function desired(
  store: string,
  stackVersion: number,
  sourceDir: string,
  extra: Record<string, unknown> = {},
): DesiredStore {
  return {
    store,
    environment: 'production',
    stackVersion,
    sourceDir,
    spec: StackSpec.parse({ name: store, app: { code: './app' }, ...extra }),
  };
}

/** A node's desired state as the test control plane sends it (JSON, like the wire). */
export function nodeDesired(version: number, stores: DesiredStore[], nodeId = 'node-1'): NodeDesired {
  return JSON.parse(JSON.stringify({ nodeId, version, stores })) as NodeDesired;
}

/** An apply that records what it was asked to apply and how many ran at once, then succeeds. */
export function recordingApply(home: string, delayMs = 0) {
  const calls: { store: string; source: string; spec: StackSpec; started: number }[] = [];
  let running = 0;
  let maxRunning = 0;
  let fail: ((store: string) => Error | undefined) | undefined;
  const apply: ApplyFn = async (o: ApplyOptions): Promise<ApplyResult> => {
    calls.push({ store: o.spec.name, source: o.source, spec: o.spec, started: Date.now() });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await new Promise((r) => setTimeout(r, delayMs));
      const e = fail?.(o.spec.name);
      if (e) throw e;
      return { user: testUser(o.spec.name, home), varnishPort: 18_180, appPorts: [], actions: [] };
    } finally {
      running--;
    }
  };
  return {
    apply,
    calls,
    maxRunning: () => maxRunning,
    failWith: (f: typeof fail) => {
      fail = f;
    },
  };
}
