import { hostLowestPriority, lowestPriority, MANAGEMENT_NICENESS } from '../../contracts/priority.ts';
import type { Command } from '../executor.ts';
import { podman } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Niceness of backup work: the lowest, so it only takes CPU the storefront leaves. */
export const BACKUP_NICENESS = MANAGEMENT_NICENESS;

/**
 * Runs a command as management work: on the management CPUs, at the lowest CPU priority and policy
 * and in the idle I/O class. Podman's conmon and the container processes it starts inherit all four,
 * so a throwaway database and a dump run through `podman exec` are bounded too — also where rootless
 * Podman cannot apply cgroup limits.
 */
export function bounded(cmd: Command): Command {
  return { ...cmd, argv: [...hostLowestPriority(), ...cmd.argv] };
}

/** Where a store's restic repository lives and how to open it. */
export interface Repository {
  /** restic repository location: a local directory (or `s3:…` on AWS). */
  readonly location: string;
  /** restic's local cache of the repository's index. */
  readonly cacheDir: string;
  /** The repository key, held by the control plane; passed in the environment, never in argv. */
  readonly password: string;
}

/** One restic command against `repo`, at backup priority. */
export function restic(repo: Repository, args: readonly string[], extra: Partial<Command> = {}): Command {
  return bounded({
    argv: ['restic', '--repo', repo.location, '--cache-dir', repo.cacheDir, ...args],
    env: { PATH, HOME: '/root', RESTIC_PASSWORD: repo.password, TZ: 'UTC' },
    timeoutMs: 6 * 3600_000,
    ...extra,
  });
}

export const resticInit = (repo: Repository): Command => restic(repo, ['init'], { timeoutMs: 120_000 });

/**
 * A snapshot of `paths`, tagged with the store and environment; `time` ("YYYY-MM-DD HH:MM:SS", UTC)
 * sets its date instead of now (retention tests, imported backups).
 */
export function resticBackup(
  repo: Repository,
  o: { paths: readonly string[]; tags: readonly string[]; host: string; time?: string },
): Command {
  return restic(repo, [
    'backup',
    '--json',
    '--host',
    o.host,
    ...o.tags.flatMap((t) => ['--tag', t]),
    ...(o.time ? ['--time', o.time] : []),
    ...o.paths,
  ]);
}

export const resticSnapshots = (repo: Repository, tag: string): Command =>
  restic(repo, ['snapshots', '--json', '--tag', tag], { timeoutMs: 300_000 });

export const resticForget = (repo: Repository, ids: readonly string[]): Command =>
  restic(repo, ['forget', ...ids]);

export const resticPrune = (repo: Repository): Command => restic(repo, ['prune']);

/** The repository's structure, and the data of one pack in `readDataSubset` (e.g. "1/10"). */
export const resticCheck = (repo: Repository, readDataSubset?: string): Command =>
  restic(repo, ['check', ...(readDataSubset ? [`--read-data-subset=${readDataSubset}`] : [])]);

export const resticRestore = (repo: Repository, id: string, target: string): Command =>
  restic(repo, ['restore', id, '--target', target, '--verify']);

/** One file of a snapshot, written to `outFile`. */
export const resticDump = (repo: Repository, id: string, path: string, outFile: string): Command =>
  restic(repo, ['dump', id, path], { stdoutFile: outFile, timeoutMs: 600_000 });

/** Bytes the snapshot restores to. */
export const resticStats = (repo: Repository, id: string): Command =>
  restic(repo, ['stats', '--json', '--mode', 'restore-size', id], { timeoutMs: 600_000 });

/**
 * mariadb-dump's options. `--single-transaction` reads one consistent snapshot without locking a
 * table, so checkouts keep writing; one INSERT per row in primary-key order makes a dump of the same
 * data byte-identical wherever it is taken (see DumpDigester), and keeps what changed in few of the
 * repository's chunks: extended inserts, split every megabyte, move their splits when rows are added
 * (appending 600 rows to a 150 000-row table added 0.76 MB to the repository as extended inserts,
 * 0.1 MB as one statement per row); loads batch the rows instead (`batchInserts`). One transaction
 * per table makes loading those rows one commit per table, not one per row; no dump date, so an
 * unchanged store dumps identically and the repository deduplicates it away.
 */
export const DUMP_OPTIONS = [
  '--single-transaction',
  '--quick',
  '--skip-extended-insert',
  '--no-autocommit',
  '--order-by-primary',
  '--skip-dump-date',
  '--routines',
  '--triggers',
  '--events',
  '--hex-blob',
  '--default-character-set=utf8mb4',
] as const;

/** Dumps database `db` from `container` (as the container's root, over its socket) into `outFile`. */
export function databaseDump(u: StoreUser, container: string, db: string, outFile: string): Command {
  return bounded(
    // Inside, the CPUs are left as inherited: a container's own CPU set may not hold the host's list.
    podman(
      u,
      ['exec', container, ...lowestPriority(undefined), 'mariadb-dump', ...DUMP_OPTIONS, '--databases', db],
      {
        stdoutFile: outFile,
        timeoutMs: 6 * 3600_000,
      },
    ),
  );
}

// Joins runs of one-row INSERTs into one table into statements of many rows (a row per line, as
// mariadb-dump writes extended inserts), each under a megabyte; every other line passes unchanged.
// MariaDB loads 150 000 rows about four times faster so (12 s against 3 s here). A row never spans
// lines: mariadb-dump escapes line breaks inside values.
const BATCH_INSERTS = [
  'match($0, /^INSERT INTO `([^`]|``)+` VALUES \\(/) && substr($0, length($0) - 1) == ");" {',
  '  head = substr($0, 1, RLENGTH - 2); row = substr($0, RLENGTH, length($0) - RLENGTH)',
  '  if (head == cur && size + length(row) < 1000000) { printf ",\\n%s", row; size += length(row) + 2 }',
  '  else { if (cur != "") print ";"; printf "%s\\n%s", head, row; cur = head; size = length(head) + length(row) }',
  '  next',
  '}',
  '{ if (cur != "") { print ";"; cur = "" } print }',
  'END { if (cur != "") print ";" }',
].join('\n');

/** Writes `dumpFile` with its rows batched (see BATCH_INSERTS) to `outFile`, for loading. */
export function batchInserts(dumpFile: string, outFile: string): Command {
  return bounded({ argv: ['awk', BATCH_INSERTS, dumpFile], stdoutFile: outFile, timeoutMs: 6 * 3600_000 });
}

/** Loads a dump file (its own CREATE DATABASE and USE) into `container`. */
export function databaseLoad(u: StoreUser, container: string, dumpFile: string): Command {
  return bounded(
    podman(u, ['exec', '-i', container, 'mariadb', '--default-character-set=utf8mb4'], {
      stdinFile: dumpFile,
      timeoutMs: 6 * 3600_000,
    }),
  );
}

/** Drops database `db` so a restore leaves no table the backup did not have. */
export function databaseDrop(u: StoreUser, container: string, db: string): Command {
  return bounded(podman(u, ['exec', container, 'mariadb', '-e', `DROP DATABASE IF EXISTS \`${db}\``]));
}

// Asks every 0.2 s inside the container until the server answers or $1 tries have failed. One
// `podman exec` for the whole wait, not one per try: each exec starts Podman, conmon and the OCI
// runtime, CPU and kernel work on the cores the storefront uses.
const READY_LOOP =
  'i=0; until mariadb-admin ping 2>/dev/null | grep -q "is alive"; do i=$((i+1)); [ "$i" -ge "$1" ] && exit 1; sleep 0.2; done';

/** Waits inside `container` until its MariaDB accepts connections: exit 0, or 1 after `seconds`. */
export function databaseWaitReady(u: StoreUser, container: string, seconds: number): Command {
  return bounded(
    podman(u, ['exec', container, 'sh', '-c', READY_LOOP, 'ready', String(seconds * 5)], {
      okExitCodes: [0, 1],
      timeoutMs: seconds * 1000 + 15_000,
    }),
  );
}

/** The largest in-memory data directory a verifier gets; a bigger restore goes to disk. */
export const VERIFIER_TMPFS_MAX_BYTES = 2 * 1024 ** 3;

/**
 * The size of an in-memory data directory for loading a dump of `dumpBytes`, or null when it should
 * go to disk. Tables take about as much room as their INSERT statements, plus InnoDB's system
 * tablespace, redo and undo logs; the copy in memory writes nothing to the disk the storefront's
 * database flushes its commits to, and tmpfs only holds the pages actually written.
 */
export function verifierTmpfsBytes(dumpBytes: number): number | null {
  const want = 2 * dumpBytes + 512 * 1024 ** 2;
  return want <= VERIFIER_TMPFS_MAX_BYTES ? want : null;
}

/**
 * A throwaway MariaDB for verification: no network, labelled so a crashed agent's leftovers can be
 * found, its passwords taken from this command's environment (never argv), at backup priority, its
 * data directory in memory when `tmpfsBytes` is given (see {@link verifierTmpfsBytes}).
 */
export function verifierRun(
  u: StoreUser,
  name: string,
  image: string,
  rootPassword: string,
  tmpfsBytes: number | null = null,
): Command {
  const base = podman(u, [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    ...(tmpfsBytes === null ? [] : ['--tmpfs', `/var/lib/mysql:rw,size=${tmpfsBytes},mode=0750`]),
    '--label',
    `triplane.store=${u.store}`,
    '--label',
    'triplane.role=backup-verifier',
    '--env',
    'MARIADB_DATABASE=triplane_verify',
    '--env',
    'MARIADB_USER=triplane_verify',
    '--env',
    'MARIADB_PASSWORD',
    '--env',
    'MARIADB_ROOT_PASSWORD',
    image,
    'mariadbd',
    // A copy that exists only to be compared needs no durability: commits skip the disk flush.
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
  ]);
  return bounded({
    ...base,
    env: { ...base.env, MARIADB_PASSWORD: rootPassword, MARIADB_ROOT_PASSWORD: rootPassword },
  });
}

export const containerRemoveNow = (u: StoreUser, name: string): Command =>
  bounded(podman(u, ['rm', '--force', '--time', '0', '--ignore', name]));

export const volumeMountpoint = (u: StoreUser, volume: string): Command =>
  bounded(podman(u, ['volume', 'inspect', '--format', '{{.Mountpoint}}', volume]));

/** Empties a directory (keeping the directory itself, which a volume's owner and mode hang off). */
export const emptyDirectory = (dir: string): Command =>
  bounded({ argv: ['find', dir, '-mindepth', '1', '-delete'], timeoutMs: 3600_000 });

/** Copies a directory's content into another, keeping owners, modes and times. */
export const copyContent = (from: string, to: string): Command =>
  bounded({ argv: ['cp', '-a', '--', `${from}/.`, `${to}/`], timeoutMs: 6 * 3600_000 });
