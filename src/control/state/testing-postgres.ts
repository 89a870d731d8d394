import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Test helper: a throwaway PostgreSQL 15 cluster from Debian's packages, private to one test file.

const run = promisify(execFile);

/** Where Debian's postgresql-15 package puts its server binaries. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** A running throwaway cluster. */
export interface TestPostgres {
  /** Superuser URL of its `postgres` database (unix socket, trust authentication). */
  readonly url: string;
  /** Stops this cluster (and no other) and deletes its files. */
  stop(): Promise<void>;
}

/** The argv that creates the cluster: trust auth (only its owner can reach the socket), no fsync. */
export function initdbArgv(dataDir: string): string[] {
  return [
    join(POSTGRES_BIN, 'initdb'),
    '--pgdata',
    dataDir,
    '--username',
    'postgres',
    '--auth',
    'trust',
    '--encoding',
    'UTF8',
    '--locale',
    'C',
    '--no-sync',
    '--no-instructions',
  ];
}

/**
 * The argv that starts it and waits until it accepts connections. It listens on no TCP port, only on
 * a unix socket in its own directory, so clusters of test files running in parallel (and the
 * system's own server) never compete for a port. Durability is off: the data is thrown away.
 */
export function startArgv(dataDir: string, socketDir: string, logFile: string): string[] {
  const options = [
    "-c listen_addresses=''",
    `-c unix_socket_directories=${socketDir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ];
  return [
    join(POSTGRES_BIN, 'pg_ctl'),
    'start',
    '--pgdata',
    dataDir,
    '--log',
    logFile,
    '--wait',
    '--timeout',
    '60',
    '--options',
    options.join(' '),
  ];
}

/** The argv that stops the cluster of `dataDir` (pg_ctl finds its postmaster by the pid file there). */
export function stopArgv(dataDir: string): string[] {
  return [join(POSTGRES_BIN, 'pg_ctl'), 'stop', '--pgdata', dataDir, '--mode', 'immediate', '--wait'];
}

// initdb refuses to run as root, so as root the cluster belongs to Debian's `postgres` user.
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error('running as root needs the "postgres" user (created by the postgresql package)');
  }
}

async function exec(
  argv: string[],
  user: { uid: number; gid: number } | undefined,
  cwd: string,
): Promise<void> {
  const [file, ...args] = argv;
  try {
    await run(file!, args, { cwd, timeout: 90_000, ...user });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${argv.slice(0, 2).join(' ')} failed: ${err.stderr?.trim() || err.message}`, {
      cause: e,
    });
  }
}

/** Starts a throwaway PostgreSQL 15 cluster in a new temporary directory. */
export async function startPostgres(): Promise<TestPostgres> {
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL 15 is not installed (no ${POSTGRES_BIN}/initdb): apt-get install -y --no-install-recommends postgresql (scripts/test.sh installs it)`,
    );
  }
  const user = await serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'triplane-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  try {
    if (user) chownSync(dir, user.uid, user.gid);
    await exec(initdbArgv(dataDir), user, dir);
    await exec(startArgv(dataDir, dir, logFile), user, dir);
  } catch (e) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw log ? new Error(`${(e as Error).message}\nserver log:\n${log}`, { cause: e }) : e;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    stop() {
      stopped ??= exec(stopArgv(dataDir), user, dir).finally(() =>
        rmSync(dir, { recursive: true, force: true }),
      );
      return stopped;
    },
  };
}
