import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { StackSpec } from '../../contracts/stack.ts';
import { layout, listStores, readJson, type StoreRecord, writeFileAtomic } from '../datadir.ts';
import { AgentError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import { withLock } from '../lock.ts';
import {
  containerRemove,
  containerRun,
  containerStart,
  networkCreate,
  networkRemove,
  podCreate,
  podRemove,
  secretCreate,
  volumeCreate,
} from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import { hashTree } from '../tree-hash.ts';
import { desiredStore, hashOf, vclHosts } from './desired.ts';
import { ensureStoreImages } from './images.ts';
import { observeStore } from './observe.ts';
import { type Action, describeAction, planStore } from './plan.ts';
import { generateVcl } from './vcl.ts';

/** What `applyStack` needs: the validated spec, where it came from, and how to act. */
export interface ApplyOptions {
  readonly dataDir: string;
  readonly executor: Executor;
  readonly spec: StackSpec;
  /** Absolute path of the stack file; `app.code` is relative to its directory. */
  readonly source: string;
  /** Creates or finds the store's unix user (rootless Podman identity). */
  readonly ensureUser: (store: string) => Promise<StoreUser>;
  readonly onProgress?: (message: string) => void;
}

/** What an apply did. */
export interface ApplyResult {
  readonly user: StoreUser;
  readonly varnishPort: number;
  readonly appPorts: readonly number[];
  readonly actions: readonly Action[];
}

const FIRST_PORT = 8180;

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * Keeps a store's ports once chosen, so its URL and its app pods' addresses do not move between
 * applies: Varnish's port (fixed in the spec or picked), then one port per app replica.
 */
async function choosePorts(
  dataDir: string,
  spec: StackSpec,
  previous: StoreRecord | undefined,
): Promise<{ varnishPort: number; appPorts: number[] }> {
  const taken = new Set(
    listStores(dataDir)
      .filter((r) => r.store !== spec.name)
      .flatMap((r) => [r.varnishPort, ...(r.appPorts ?? [])]),
  );
  const next = async (what: string): Promise<number> => {
    for (let p = FIRST_PORT; p < FIRST_PORT + 1000; p++) {
      if (!taken.has(p) && (await portFree(p))) {
        taken.add(p);
        return p;
      }
    }
    throw new AgentError(
      'TP_NO_FREE_PORT',
      `no free loopback port from ${FIRST_PORT} for ${spec.name}'s ${what}`,
    );
  };
  const wanted = spec.services.varnish.port;
  const varnishPort = wanted !== 'auto' ? wanted : (previous?.varnishPort ?? (await next('Varnish')));
  taken.add(varnishPort);
  // A port the store already holds is still bound by its own pod, so it is kept without a probe.
  const appPorts = (previous?.appPorts ?? [])
    .filter((p) => p !== varnishPort)
    .slice(0, spec.app.replicas.min);
  for (const p of appPorts) taken.add(p);
  while (appPorts.length < spec.app.replicas.min) appPorts.push(await next(`app pod ${appPorts.length + 1}`));
  return { varnishPort, appPorts };
}

/** Copies the store code into the store user's home, once per distinct content. */
async function ensureRelease(ex: Executor, u: StoreUser, codeSrc: string): Promise<string> {
  if (!existsSync(codeSrc) || !statSync(codeSrc).isDirectory()) {
    throw new AgentError(
      'TP_SPEC_CODE_MISSING',
      `app.code: directory ${JSON.stringify(codeSrc)} does not exist`,
      {
        path: 'app.code',
        value: codeSrc,
      },
    );
  }
  const releases = join(u.home, 'releases');
  const dir = join(releases, hashTree(codeSrc).slice(0, 16));
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  await ex.run({ argv: ['rm', '-rf', '--', tmp] });
  await ex.run({ argv: ['mkdir', '-p', '--', tmp] });
  await ex.run({ argv: ['cp', '-a', '--', `${codeSrc}/.`, tmp] });
  await ex.run({ argv: ['chown', '-R', `${u.uid}:${u.gid}`, '--', releases] });
  await ex.run({ argv: ['mv', '--', tmp, dir] });
  return dir;
}

/** Writes the VCL under a name derived from its content, so a running Varnish never sees it change. */
function ensureVcl(u: StoreUser, text: string): { path: string; hash: string } {
  const hash = hashOf(text);
  const dir = join(u.home, 'varnish');
  const path = join(dir, `${hash}.vcl`);
  if (!existsSync(path)) {
    writeFileAtomic(path, text, 0o644);
    chownSync(dir, u.uid, u.gid);
    chownSync(path, u.uid, u.gid);
  }
  return { path, hash };
}

/** Secret values are generated once and kept (root-only) so a recreated secret matches the data. */
function secretValues(
  dataDir: string,
  store: string,
  namesWanted: readonly string[],
): Record<string, string> {
  const path = layout(dataDir).secrets(store);
  const values = readJson<Record<string, string>>(path) ?? {};
  let changed = false;
  for (const n of namesWanted) {
    if (!values[n]) {
      values[n] = randomBytes(18).toString('base64url');
      changed = true;
    }
  }
  if (changed) writeFileAtomic(path, `${JSON.stringify(values, null, 2)}\n`, 0o600);
  return values;
}

/** Runs the Podman commands for one planned action. */
async function execute(
  ex: Executor,
  u: StoreUser,
  a: Action,
  secrets: Record<string, string>,
): Promise<void> {
  switch (a.kind) {
    case 'create-network':
      return void (await ex.run(networkCreate(u, a.name)));
    case 'remove-network':
      return void (await ex.run(networkRemove(u, a.name)));
    case 'create-volume':
      return void (await ex.run(volumeCreate(u, a.name)));
    case 'create-secret': {
      const file = join(u.home, `.secret-${a.name}`);
      writeFileAtomic(file, secrets[a.name]!, 0o600);
      chownSync(file, u.uid, u.gid);
      try {
        return void (await ex.run(secretCreate(u, a.name, file)));
      } finally {
        rmSync(file, { force: true });
      }
    }
    case 'remove-pod':
      return void (await ex.run(podRemove(u, [a.name])));
    case 'remove-container':
      return void (await ex.run(containerRemove(u, [a.name])));
    case 'create-pod':
      return void (await ex.run(podCreate(u, a.pod)));
    case 'run-container':
      return void (await ex.run(containerRun(u, a.container)));
    case 'start-container':
      return void (await ex.run(containerStart(u, [a.name])));
  }
}

/**
 * Makes a store's containers match its spec: creates what is missing, replaces what changed, removes
 * what is gone and leaves the rest untouched. Safe to run again at any time.
 */
export async function applyStack(o: ApplyOptions): Promise<ApplyResult> {
  const { spec, executor: ex } = o;
  const say = o.onProgress ?? (() => {});
  const paths = layout(o.dataDir);
  mkdirSync(paths.store(spec.name), { recursive: true, mode: 0o755 });
  return withLock(paths.applyLock(spec.name), `store ${spec.name}`, async () => {
    const previous = readJson<StoreRecord>(paths.record(spec.name));
    say(`prepare unix user tp-${spec.name}`);
    const u = await o.ensureUser(spec.name);
    const { varnishPort, appPorts } = await choosePorts(o.dataDir, spec, previous);
    const codeDir = await ensureRelease(ex, u, resolve(dirname(o.source), spec.app.code));
    const vcl = ensureVcl(
      u,
      generateVcl({
        ...vclHosts(spec),
        adminPathPrefix: spec.admin.pathPrefix,
        grace: spec.services.varnish.grace,
        ttl: spec.services.varnish.ttl,
      }),
    );
    const draft = desiredStore({ spec, user: u, varnishPort, appPorts, codeDir, vcl, imageIds: {} });
    const refs = [...new Set(draft.containers.map((c) => c.image))];
    say(`check images: ${refs.length}`);
    const imageIds = await ensureStoreImages(ex, u, refs, say);
    const desired = desiredStore({ spec, user: u, varnishPort, appPorts, codeDir, vcl, imageIds });
    const observed = await observeStore(ex, u);
    const actions = planStore(desired, observed);
    const secrets = secretValues(o.dataDir, spec.name, desired.secrets);
    if (actions.length === 0) say('nothing to change');
    for (const [i, a] of actions.entries()) {
      say(`[${i + 1}/${actions.length}] ${describeAction(a)}`);
      await execute(ex, u, a, secrets);
    }
    pruneReleases(u, codeDir);
    const record: StoreRecord = {
      store: spec.name,
      source: o.source,
      varnishPort,
      appPorts,
      appliedAt: new Date().toISOString(),
      specHash: hashOf(spec),
      state: 'up',
    };
    writeFileAtomic(paths.record(spec.name), `${JSON.stringify(record, null, 2)}\n`);
    writeFileAtomic(paths.spec(spec.name), `${JSON.stringify(spec, null, 2)}\n`);
    return { user: u, varnishPort, appPorts, actions };
  });
}

/** The two previous code releases are kept for a quick roll back; older ones go. */
function pruneReleases(u: StoreUser, current: string): void {
  const dir = join(u.home, 'releases');
  const old = readdirSync(dir)
    .filter((d) => !d.endsWith('.tmp') && join(dir, d) !== current)
    .map((d) => ({ d, t: statSync(join(dir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(2);
  for (const { d } of old) rmSync(join(dir, d), { recursive: true, force: true });
}
