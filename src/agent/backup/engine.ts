import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  BackupManifest,
  type BackupTaken,
  type DumpDigest,
  type MediaManifest,
  type Verification,
} from '../../contracts/backup.ts';
import type { EnvironmentName } from '../../contracts/fleet.ts';
import { AgentError, CommandError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import { parseSubIds } from '../host/subid.ts';
import type { StoreUser } from '../podman/types.ts';
import {
  batchInserts,
  containerRemoveNow,
  copyContent,
  databaseDrop,
  databaseDump,
  databaseLoad,
  databaseWaitReady,
  emptyDirectory,
  type Repository,
  resticBackup,
  resticCheck,
  resticDump,
  resticForget,
  resticInit,
  resticPrune,
  resticRestore,
  resticSnapshots,
  resticStats,
  verifierRun,
  verifierTmpfsBytes,
  volumeMountpoint,
} from './commands.ts';
import { digest } from './digest.ts';
import { compareDumps, DUMP_CUT_SHORT } from './dump.ts';
import { compareMedia } from './media.ts';
import { expiredSnapshots, type SnapshotInfo } from './retention.ts';

/** Backup failures, each with a stable code. */
export class BackupError extends AgentError {
  constructor(
    code:
      | 'TP_BACKUP_DUMP'
      | 'TP_BACKUP_REPOSITORY'
      | 'TP_BACKUP_NOT_FOUND'
      | 'TP_BACKUP_MANIFEST'
      | 'TP_BACKUP_TARGET'
      | 'TP_BACKUP_VERIFIER',
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, details);
    this.name = 'BackupError';
  }
}

/** A store's database and media as a backup reads them or a restore writes them. */
export interface StoreTarget {
  readonly user: StoreUser;
  /** The MariaDB container, reached as its root over the local socket. */
  readonly databaseContainer: string;
  readonly databaseName: string;
  /** The MariaDB image, for the throwaway verification server. */
  readonly databaseImage: string;
  readonly mediaVolume: string;
}

export interface BackupEngineOptions {
  readonly executor: Executor;
  /** Directory of the repositories and their scratch space (`<data-dir>/backups`). */
  readonly root: string;
  /** The repositories' key (held by the control plane). */
  readonly password: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** `/etc/subuid` and `/etc/subgid`, read when media moves between store users. */
  readonly subIdFiles?: { readonly uid: string; readonly gid: string };
  readonly onProgress?: (step: string) => void;
  /** How to start Node for the digests. @default the agent's own executable and flags */
  readonly node?: readonly string[];
}

/** The tag that selects a store's snapshots. */
const storeTag = (store: string) => `store=${store}`;

/** The name of the staging directory inside every snapshot: dump and manifest. */
const STAGING = 'staging';

/** restic's `--time` format, in UTC. */
function resticTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Backups of one host's stores in restic repositories (one per store, deduplicated and encrypted):
 * a consistent dump of the database, the media volume, and a manifest of what both held, so a
 * restore can be checked against the moment of the backup. Every command runs at the lowest CPU
 * and I/O priority (see `bounded`).
 */
export class BackupEngine {
  private readonly clock: () => Date;

  constructor(private readonly o: BackupEngineOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  repository(store: string): Repository {
    return {
      location: join(this.o.root, store, 'repository'),
      cacheDir: join(this.o.root, 'cache'),
      password: this.o.password,
    };
  }

  /** Creates the store's repository on first use. */
  async ensureRepository(store: string): Promise<Repository> {
    const repo = this.repository(store);
    if (!existsSync(join(repo.location, 'config'))) {
      await mkdir(join(this.o.root, store), { recursive: true, mode: 0o700 });
      await this.o.executor.run(resticInit(repo));
    }
    return repo;
  }

  /** Backs up a store: dump, media, manifest, as one snapshot. */
  async create(
    t: StoreTarget,
    meta: { environment: EnvironmentName; stackVersion: number | null; spec: unknown; time?: Date },
  ): Promise<BackupTaken> {
    const store = t.user.store;
    const started = Date.now();
    // restic keeps whole seconds.
    const takenAt = new Date(Math.floor((meta.time ?? this.clock()).getTime() / 1000) * 1000);
    const repo = await this.ensureRepository(store);
    const staging = join(this.o.root, store, STAGING);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
    try {
      this.progress('dumping the database');
      const dumpFile = join(staging, 'database.sql');
      await this.o.executor.run(databaseDump(t.user, t.databaseContainer, t.databaseName, dumpFile));
      const database = await this.digestDump(dumpFile, t.databaseName);
      if (!database.complete)
        throw new BackupError(
          'TP_BACKUP_DUMP',
          `database ${t.databaseName}: mariadb-dump ended without its closing line after ${database.bytes} bytes`,
          { bytes: database.bytes },
        );
      this.progress('reading the media volume');
      const mount = await this.mountpoint(t.user, t.mediaVolume);
      const media = await this.digestMedia(mount);
      const manifest: BackupManifest = {
        format: 1,
        store,
        environment: meta.environment,
        stackVersion: meta.stackVersion,
        spec: meta.spec,
        takenAt: takenAt.toISOString(),
        database,
        media,
        owner: this.ownerIds(t.user),
      };
      await writeFile(join(staging, 'backup.json'), `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
      this.progress('writing the snapshot');
      const r = await this.o.executor.run(
        resticBackup(repo, {
          paths: [staging, mount],
          tags: [storeTag(store), `env=${meta.environment}`],
          host: 'triplane',
          // The snapshot is dated when the dump's transaction began, which is the moment it holds.
          time: resticTime(takenAt),
        }),
      );
      const summary = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((m) => m.message_type === 'summary');
      if (!summary || typeof summary.snapshot_id !== 'string')
        throw new BackupError('TP_BACKUP_REPOSITORY', 'restic backup printed no summary', {
          stdout: r.stdout.slice(-500),
        });
      // restic 0.14 prints a short id; the full one is the snapshot's stable name.
      const snapshotId = (await this.snapshot(store, summary.snapshot_id)).id;
      return {
        snapshotId,
        takenAt: manifest.takenAt,
        sizeBytes: Number(summary.total_bytes_processed ?? 0),
        addedBytes: Number(summary.data_added ?? 0),
        durationMs: Date.now() - started,
        dumpSha256: database.sha256,
        tables: Object.keys(database.tables).length,
        mediaFiles: media.files,
      };
    } finally {
      // The dump is the store's data in clear: it lives only in the encrypted repository.
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The store's snapshots, oldest first. */
  async list(store: string): Promise<SnapshotInfo[]> {
    const repo = this.repository(store);
    if (!existsSync(join(repo.location, 'config'))) return [];
    const r = await this.o.executor.run(resticSnapshots(repo, storeTag(store)));
    const raw = JSON.parse(r.stdout || '[]') as {
      id: string;
      time: string;
      paths: string[];
      tags?: string[];
    }[];
    return raw
      .map((s) => ({ id: s.id, time: new Date(s.time), paths: s.paths, tags: s.tags ?? [] }))
      .sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  /** The manifest a backup carries. */
  async manifest(store: string, id: string): Promise<BackupManifest> {
    const snap = await this.snapshot(store, id);
    const scratch = await this.scratch(store, 'manifest');
    try {
      const out = join(scratch, 'backup.json');
      await this.o.executor.run(
        resticDump(this.repository(store), snap.id, `${stagingPath(snap)}/backup.json`, out),
      );
      return parseManifest(readFileSync(out, 'utf8'), snap.id);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Restores a backup into a throwaway MariaDB and a scratch directory and compares both with the
   * backup's manifest: the repository's integrity, the dump's bytes, every table's rows and
   * checksum, every media file's size and checksum. Problems are collected, never thrown: a backup
   * that cannot be checked has failed its verification.
   */
  async verify(store: string, id: string, via: { user: StoreUser; image: string }): Promise<Verification> {
    const started = Date.now();
    const problems: string[] = [];
    let tables = 0;
    let rows = 0;
    let mediaFiles = 0;
    const repo = this.repository(store);
    const scratch = await this.scratch(store, 'verify');
    const verifier = `${store}-backup-verify-${randomBytes(3).toString('hex')}`;
    const done = (): Verification => ({
      status: problems.length === 0 ? 'passed' : 'failed',
      checkedAt: this.clock().toISOString(),
      durationMs: Date.now() - started,
      tables,
      rows,
      mediaFiles,
      problems,
    });
    try {
      this.progress('checking the repository');
      const check = await this.attempt(() => this.o.executor.run(resticCheck(repo)));
      if (check) problems.push(`repository: restic check failed: ${check}`);
      let snap: SnapshotInfo;
      try {
        snap = await this.snapshot(store, id);
      } catch (e) {
        problems.push(`snapshot ${id}: ${(e as Error).message}`);
        return done();
      }
      this.progress('restoring the snapshot');
      const restored = join(scratch, 'restore');
      const restoreFailed = await this.attempt(() =>
        this.o.executor.run(resticRestore(repo, snap.id, restored)),
      );
      if (restoreFailed) {
        problems.push(`repository: restoring snapshot ${snap.id.slice(0, 8)} failed: ${restoreFailed}`);
        return done();
      }
      const staged = join(restored, stagingPath(snap));
      let manifest: BackupManifest;
      try {
        manifest = parseManifest(await readFile(join(staged, 'backup.json'), 'utf8'), snap.id);
      } catch (e) {
        problems.push(`backup.json: ${(e as Error).message}`);
        return done();
      }
      this.progress('checking the restored dump');
      const dumpFile = join(staged, 'database.sql');
      const dump = existsSync(dumpFile)
        ? await this.digestDump(dumpFile, manifest.database.database)
        : undefined;
      if (!dump) problems.push('database.sql: missing from the snapshot');
      else if (dump.sha256 !== manifest.database.sha256)
        problems.push(
          `database.sql: ${dump.bytes} bytes with checksum ${dump.sha256.slice(0, 12)} restored, ` +
            `${manifest.database.bytes} bytes with ${manifest.database.sha256.slice(0, 12)} dumped`,
        );

      this.progress('checking the media');
      const mediaDir = join(restored, mediaPath(snap));
      const media = existsSync(mediaDir)
        ? await this.digestMedia(mediaDir)
        : { files: 0, bytes: 0, entries: [] };
      mediaFiles = media.files;
      problems.push(...compareMedia(manifest.media, media));

      if (dump) {
        const loaded = await this.loadIntoVerifier(
          via,
          verifier,
          dumpFile,
          join(scratch, 'redump.sql'),
          manifest,
        );
        if (typeof loaded === 'string') {
          // A dump cut inside a statement does not load at all; say why, as the comparison would.
          if (!manifest.database.complete) problems.push(DUMP_CUT_SHORT);
          problems.push(loaded);
        } else {
          tables = Object.keys(loaded.tables).length;
          rows = Object.values(loaded.tables).reduce((n, t) => n + t.rows, 0);
          problems.push(...compareDumps(manifest.database, loaded));
        }
      }
      return done();
    } finally {
      this.progress('removing the throwaway database');
      await this.attempt(() => this.o.executor.run(containerRemoveNow(via.user, verifier)));
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Restores a backup's database and media into `t` (the same store, or another environment's),
   * replacing what is there: the database is dropped first so no table the backup lacked remains.
   */
  async restore(store: string, id: string, t: StoreTarget): Promise<BackupManifest> {
    const snap = await this.snapshot(store, id);
    const repo = this.repository(store);
    const scratch = await this.scratch(store, 'restore');
    try {
      this.progress('restoring the snapshot');
      const restored = join(scratch, 'restore');
      await this.o.executor.run(resticRestore(repo, snap.id, restored));
      const staged = join(restored, stagingPath(snap));
      const manifest = parseManifest(await readFile(join(staged, 'backup.json'), 'utf8'), snap.id);
      if (manifest.database.database !== t.databaseName)
        throw new BackupError(
          'TP_BACKUP_TARGET',
          `database.name: the backup holds database ${JSON.stringify(manifest.database.database)}, the target has ${JSON.stringify(t.databaseName)}`,
          { backup: manifest.database.database, target: t.databaseName },
        );
      const dumpFile = join(staged, 'database.sql');
      const dump = await this.digestDump(dumpFile, manifest.database.database);
      if (dump.sha256 !== manifest.database.sha256 || !dump.complete)
        throw new BackupError(
          'TP_BACKUP_DUMP',
          `backup ${snap.id.slice(0, 8)}: its dump does not match the checksum taken at backup time; not restoring it`,
          { expected: manifest.database.sha256, actual: dump.sha256 },
        );
      this.progress('loading the database');
      await this.o.executor.run(databaseDrop(t.user, t.databaseContainer, t.databaseName));
      const batched = join(dirname(dumpFile), 'database.load.sql');
      await this.o.executor.run(batchInserts(dumpFile, batched));
      await this.o.executor.run(databaseLoad(t.user, t.databaseContainer, batched));
      this.progress('restoring the media');
      const mount = await this.mountpoint(t.user, t.mediaVolume);
      const from = join(restored, mediaPath(snap));
      await this.o.executor.run(emptyDirectory(mount));
      if (existsSync(from)) {
        await this.o.executor.run(copyContent(from, mount));
        const target = this.ownerIds(t.user);
        // A user recreated with the same uid can still have other subordinate ranges.
        const o = manifest.owner;
        if (
          target.uid !== o.uid ||
          target.gid !== o.gid ||
          target.subuidStart !== o.subuidStart ||
          target.subgidStart !== o.subgidStart
        )
          await remapOwners(mount, o, target);
      }
      return manifest;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Removes the snapshots older than `retentionDays` at `now`, and the data only they used. */
  async prune(
    store: string,
    now: Date,
    retentionDays: number,
  ): Promise<{ removed: string[]; kept: string[] }> {
    const all = await this.list(store);
    const expired = expiredSnapshots(all, now, retentionDays);
    const gone = new Set(expired.map((s) => s.id));
    if (expired.length > 0) {
      const repo = this.repository(store);
      await this.o.executor.run(
        resticForget(
          repo,
          expired.map((s) => s.id),
        ),
      );
      await this.o.executor.run(resticPrune(repo));
    }
    return { removed: [...gone], kept: all.filter((s) => !gone.has(s.id)).map((s) => s.id) };
  }

  /** Bytes a snapshot restores to. */
  async size(store: string, id: string): Promise<number> {
    const r = await this.o.executor.run(resticStats(this.repository(store), id));
    return Number((JSON.parse(r.stdout) as { total_size?: number }).total_size ?? 0);
  }

  private async snapshot(store: string, id: string): Promise<SnapshotInfo> {
    const all = await this.list(store);
    const found = all.filter((s) => s.id === id || (id.length >= 8 && s.id.startsWith(id)));
    if (found.length !== 1)
      throw new BackupError(
        'TP_BACKUP_NOT_FOUND',
        found.length === 0
          ? `backup ${JSON.stringify(id)}: store ${store} has no such backup`
          : `backup ${JSON.stringify(id)}: more than one backup starts with it`,
        { store, id },
      );
    return found[0]!;
  }

  private async loadIntoVerifier(
    via: { user: StoreUser; image: string },
    name: string,
    dumpFile: string,
    redumpFile: string,
    manifest: BackupManifest,
  ): Promise<DumpDigest | string> {
    this.progress('starting a throwaway database');
    const run = await this.attempt(() =>
      this.o.executor.run(
        verifierRun(
          via.user,
          name,
          via.image,
          randomBytes(18).toString('base64url'),
          verifierTmpfsBytes(statSync(dumpFile).size),
        ),
      ),
    );
    if (run) return `verifier: cannot start a throwaway MariaDB from ${via.image}: ${run}`;
    const ready = await this.o.executor.run(databaseWaitReady(via.user, name, 60));
    if (ready.exitCode !== 0) return 'verifier: the throwaway MariaDB did not start within 60 s';
    this.progress('loading the dump into the throwaway database');
    const batched = join(dirname(redumpFile), 'database.load.sql');
    const batch = await this.attempt(() => this.o.executor.run(batchInserts(dumpFile, batched)));
    if (batch) return `database: the dump cannot be read for loading: ${batch}`;
    const load = await this.attempt(() => this.o.executor.run(databaseLoad(via.user, name, batched)));
    if (load) return `database: the dump does not load into a fresh MariaDB: ${load}`;
    this.progress('dumping the restored copy');
    const redump = await this.attempt(() =>
      this.o.executor.run(databaseDump(via.user, name, manifest.database.database, redumpFile)),
    );
    if (redump) return `database: the restored copy cannot be dumped: ${redump}`;
    this.progress('comparing the restored copy');
    return this.digestDump(redumpFile, manifest.database.database);
  }

  private digestDump(path: string, database: string): Promise<DumpDigest> {
    return digest(this.o.executor, { kind: 'dump', path, database }, this.o.node);
  }

  private digestMedia(root: string): Promise<MediaManifest> {
    return digest(this.o.executor, { kind: 'media', root }, this.o.node);
  }

  private async mountpoint(u: StoreUser, volume: string): Promise<string> {
    const r = await this.o.executor.run(volumeMountpoint(u, volume));
    const dir = r.stdout.trim();
    if (!dir.startsWith('/'))
      throw new BackupError('TP_BACKUP_TARGET', `volume ${volume}: podman reported no mountpoint`, {
        volume,
      });
    return dir;
  }

  private ownerIds(u: StoreUser): BackupManifest['owner'] {
    const files = this.o.subIdFiles ?? { uid: '/etc/subuid', gid: '/etc/subgid' };
    const start = (file: string, id: number) => {
      const ranges = parseSubIds(existsSync(file) ? readFileSync(file, 'utf8') : '');
      return ranges.find((r) => r.owner === u.user || r.owner === String(id))?.start ?? 0;
    };
    return {
      uid: u.uid,
      gid: u.gid,
      subuidStart: start(files.uid, u.uid),
      subgidStart: start(files.gid, u.gid),
    };
  }

  private async scratch(store: string, what: string): Promise<string> {
    const dir = join(this.o.root, store, `${what}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return dir;
  }

  /** Runs `f`; the failure's message, or undefined when it succeeded. Only command failures are caught. */
  private async attempt(f: () => Promise<unknown>): Promise<string | undefined> {
    try {
      await f();
      return undefined;
    } catch (e) {
      if (e instanceof CommandError) {
        const tail = e.stderr.trim().split('\n').slice(-3).join(' | ');
        return tail || e.message;
      }
      throw e;
    }
  }

  private progress(step: string): void {
    this.o.onProgress?.(step);
  }
}

function parseManifest(text: string, id: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BackupError(
      'TP_BACKUP_MANIFEST',
      `backup ${id.slice(0, 8)}: backup.json is not JSON: ${(e as Error).message}`,
    );
  }
  const r = BackupManifest.safeParse(raw);
  if (!r.success)
    throw new BackupError(
      'TP_BACKUP_MANIFEST',
      `backup ${id.slice(0, 8)}: backup.json: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** The snapshot's staging directory (dump and manifest) as restic recorded it. */
function stagingPath(s: SnapshotInfo): string {
  const p = s.paths.find((x) => x.endsWith(`/${STAGING}`));
  if (!p)
    throw new BackupError('TP_BACKUP_MANIFEST', `backup ${s.id.slice(0, 8)}: no ${STAGING} directory in it`);
  return p;
}

/** The snapshot's media directory: the path beside the staging directory. */
function mediaPath(s: SnapshotInfo): string {
  const p = s.paths.find((x) => !x.endsWith(`/${STAGING}`));
  if (!p) throw new BackupError('TP_BACKUP_MANIFEST', `backup ${s.id.slice(0, 8)}: no media directory in it`);
  return p;
}

/**
 * Moves restored files from the backed-up store user's ids to another's: the user's own id to the
 * user's, an id in its subordinate range to the same offset in the target's (what the container saw
 * stays what it sees).
 */
export function mapOwner(
  id: number,
  from: { own: number; subStart: number },
  to: { own: number; subStart: number },
): number {
  if (id === from.own) return to.own;
  if (from.subStart > 0 && id >= from.subStart && id < from.subStart + 65_536)
    return to.subStart + (id - from.subStart);
  return id;
}

async function remapOwners(
  root: string,
  from: BackupManifest['owner'],
  to: BackupManifest['owner'],
): Promise<void> {
  const fix = async (path: string) => {
    const st = await lstat(path);
    await lchown(
      path,
      mapOwner(
        st.uid,
        { own: from.uid, subStart: from.subuidStart },
        { own: to.uid, subStart: to.subuidStart },
      ),
      mapOwner(
        st.gid,
        { own: from.gid, subStart: from.subgidStart },
        { own: to.gid, subStart: to.subgidStart },
      ),
    );
    if (st.isDirectory()) for (const name of await readdir(path)) await fix(join(path, name));
  };
  // The root too: `cp -a from/. to/` gives the volume's directory the backed-up one's owner.
  await fix(root);
}
