/**
 * The reference side of the WAF differential: Debian's nginx with libmodsecurity3 and the OWASP CRS
 * 3.3.4 from the `modsecurity-crs` package, started on a loopback port from a temporary directory that
 * holds everything it writes. Nothing under /etc/nginx is read: the module is loaded by path and the
 * ModSecurity and CRS files are included one by one, in Debian's order.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { WafSettings } from '../../src/contracts/snapshot.ts';
import { BASE_CONF, responseBodyDirectives } from '../../src/edge/waf/index.ts';
import { freePort } from '../edge/harness.ts';
import { RESPONSE_CASES, RESPONSE_PREFIX, RESPONSE_TYPES } from './corpus-responses.ts';

/** The header that carries a corpus id, so the audit log can be read per request. */
export const CORPUS_ID_HEADER = 'X-Request-Id';

/** Files the reference needs, and the Debian package that ships each. */
export const REFERENCE_FILES = {
  nginx: { path: '/usr/sbin/nginx', pkg: 'nginx' },
  module: {
    path: '/usr/lib/nginx/modules/ngx_http_modsecurity_module.so',
    pkg: 'libnginx-mod-http-modsecurity',
  },
  ndk: { path: '/usr/lib/nginx/modules/ndk_http_module.so', pkg: 'libnginx-mod-http-ndk' },
  crsSetup: { path: '/etc/modsecurity/crs/crs-setup.conf', pkg: 'modsecurity-crs' },
  crsRules: {
    path: '/usr/share/modsecurity-crs/rules/REQUEST-901-INITIALIZATION.conf',
    pkg: 'modsecurity-crs',
  },
} as const;

/** Debian's CRS files, in the order of /usr/share/modsecurity-crs/owasp-crs.load. */
export const CRS_INCLUDES = [
  '/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf',
  '/usr/share/modsecurity-crs/rules/*.conf',
  '/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf',
] as const;

/** A failure of the reference harness, with a stable code. */
export class WafDiffError extends Error {
  constructor(
    readonly code: 'WAFDIFF_PACKAGES' | 'WAFDIFF_START' | 'WAFDIFF_COMMAND',
    message: string,
  ) {
    super(message);
    this.name = 'WafDiffError';
  }
}

/** Paranoia levels the differential covers. */
export type Paranoia = 1 | 2;

/** How to start a reference. */
export interface ReferenceOptions {
  /** CRS paranoia level, set as both `tx.paranoia_level` and `tx.executing_paranoia_level`. @default 1 */
  readonly paranoia?: Paranoia;
  /** Loopback port to listen on. @default a free port */
  readonly port?: number;
  /** nginx worker processes. @default 1 */
  readonly workers?: number;
  /**
   * Write every transaction to a JSON audit log (parts A, B, H, Z), which `ruleIdsFor` reads. Off for
   * benchmarks, where the log would be measured too.
   * @default true
   */
  readonly auditLog?: boolean;
}

/** A running reference. */
export interface ModSecurityReference {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly paranoia: Paranoia;
  /** Pid of nginx's master process (its workers are its children). */
  readonly pid: number;
  /** The temporary directory with the configuration, logs and temp files (removed by `stop`). */
  readonly dir: string;
  /** Ids of the rules that logged a match for the request sent with `X-Request-Id: corpusId` (the edge logs it as the request id). */
  ruleIdsFor(corpusId: string): Promise<readonly string[] | undefined>;
  /** Stops nginx (graceful, then forced) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** The files and paths of one reference instance. */
export interface ReferenceLayout {
  readonly dir: string;
  readonly port: number;
  readonly paranoia: Paranoia;
  readonly workers: number;
  readonly auditLog: boolean;
  /** Whether nginx's master runs as root: then the workers are told to stay root too. */
  readonly root: boolean;
}

/** Argv that installs Debian packages without questions. */
export function aptInstallArgv(packages: readonly string[]): string[] {
  return ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages];
}

/** Argv that starts nginx in the foreground on a layout's configuration. */
export function nginxArgv(dir: string): string[] {
  // -e keeps nginx from opening /var/log/nginx/error.log before it has read the configuration.
  return [
    REFERENCE_FILES.nginx.path,
    '-p',
    `${dir}/`,
    '-c',
    join(dir, 'nginx.conf'),
    '-e',
    join(dir, 'error.log'),
    '-g',
    'daemon off;',
  ];
}

/**
 * nginx.conf: the WAF server on the port, proxying to an nginx server on a unix socket that answers
 * "ok" — and the response cases (corpus-responses.ts) as static files under their prefix.
 */
export function renderNginxConf(l: ReferenceLayout): string {
  const d = l.dir;
  // `return 200` in the WAF server itself answers in nginx's rewrite phase, before the connector runs
  // ModSecurity's phase 2 in the preaccess phase: with it, SQLi in a query string or a form body both
  // passed (tried with 1.0.3). A proxied location lets phase 2 run, on the whole body, first.
  return `${l.root ? 'user root;\n' : ''}worker_processes ${l.workers};
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
load_module ${REFERENCE_FILES.ndk.path};
load_module ${REFERENCE_FILES.module.path};
events { worker_connections 1024; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${d}/tmp/body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  client_max_body_size 20m;
  large_client_header_buffers 8 32k;
  keepalive_requests 100000;
  # ModSecurity should see every header the client sent, as the Triplane edge does.
  underscores_in_headers on;
  ignore_invalid_headers off;
  upstream origin { server unix:${d}/upstream.sock; keepalive 16; }
  server {
    listen unix:${d}/upstream.sock;
    location / { return 200 "ok"; }
    location ${RESPONSE_PREFIX} {
      alias ${d}/responses/;
      types { ${Object.entries(RESPONSE_TYPES)
        .map(([ext, type]) => `${type} ${ext};`)
        .join(' ')} }
    }
  }
  server {
    listen 127.0.0.1:${l.port} default_server;
    server_name _;
    modsecurity on;
    modsecurity_rules_file ${d}/main.conf;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * modsecurity.conf: the edge's own engine settings (src/edge/waf/conf/base.conf, Debian's recommended
 * rules and limits with the engine on) and a store's default response-body settings as the edge
 * writes them, so both sides differ only in their engines; then a JSON audit log in the layout's
 * directory for the matched rule ids.
 */
export function renderModSecurityConf(l: ReferenceLayout): string {
  const d = l.dir;
  const responseBodies = responseBodyDirectives(WafSettings.parse({}))
    .map((c) => [c.name, ...c.args].join(' '))
    .join('\n');
  return `Include ${BASE_CONF}
${responseBodies}
SecTmpDir ${d}/tmp/
SecDataDir ${d}/tmp/
SecAuditEngine ${l.auditLog ? 'On' : 'Off'}
SecAuditLogParts ABHZ
SecAuditLogType Serial
SecAuditLogFormat JSON
SecAuditLog ${d}/audit.json
SecStatusEngine Off
`;
}

/**
 * crs-setup.conf: Debian's, then the paranoia level as the setup rules 900000 and 900001 that
 * Debian's file carries commented out. REQUEST-901 only sets its defaults when these are unset.
 */
export function renderCrsSetup(paranoia: Paranoia): string {
  return `Include ${REFERENCE_FILES.crsSetup.path}
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=${paranoia}"
SecAction "id:900001,phase:1,nolog,pass,t:none,setvar:tx.executing_paranoia_level=${paranoia}"
`;
}

/** main.conf: what `modsecurity_rules_file` loads, in Debian's order (libmodsecurity has no IncludeOptional). */
export function renderMainConf(dir: string): string {
  const files = [join(dir, 'modsecurity.conf'), join(dir, 'crs-setup.conf'), ...CRS_INCLUDES];
  return files.map((f) => `Include ${f}\n`).join('');
}

/** Runs one argv to completion; fails with its output when it does not exit 0. */
export function runCommand(argv: readonly string[], timeoutMs = 600_000): string {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    throw new WafDiffError(
      'WAFDIFF_COMMAND',
      `${argv.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || String(r.error)).trim()}`,
    );
  }
  return r.stdout;
}

/** Debian packages of the reference that are not installed, judged by the files it needs. */
export function missingReferencePackages(): string[] {
  const pkgs = Object.values(REFERENCE_FILES)
    .filter((f) => !existsSync(f.path))
    .map((f) => f.pkg);
  return [...new Set(pkgs)];
}

/** Installs nginx, the ModSecurity module and the CRS with apt-get when any is missing. */
export function ensureReferencePackages(): void {
  const missing = missingReferencePackages();
  if (missing.length === 0) return;
  runCommand(['apt-get', 'update', '-q']);
  runCommand(aptInstallArgv(missing));
  const still = missingReferencePackages();
  if (still.length > 0) {
    throw new WafDiffError(
      'WAFDIFF_PACKAGES',
      `packages installed but files still missing: ${still.join(', ')}`,
    );
  }
}

/** Writes a layout's configuration files and temp folders. */
export function writeLayout(l: ReferenceLayout): void {
  mkdirSync(join(l.dir, 'tmp'), { recursive: true });
  mkdirSync(join(l.dir, 'responses'), { recursive: true });
  for (const c of RESPONSE_CASES) writeFileSync(join(l.dir, 'responses', c.name), c.body, 'latin1');
  writeFileSync(join(l.dir, 'nginx.conf'), renderNginxConf(l));
  writeFileSync(join(l.dir, 'modsecurity.conf'), renderModSecurityConf(l));
  writeFileSync(join(l.dir, 'crs-setup.conf'), renderCrsSetup(l.paranoia));
  writeFileSync(join(l.dir, 'main.conf'), renderMainConf(l.dir));
}

/** Pids of a process's children, read from /proc (nginx's workers). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked: it is not a child any more.
    }
  }
  return out;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Reads the JSON audit log into corpus id → rule ids (the last transaction of an id wins). */
export function parseAuditLog(text: string): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let tx: {
      request?: { headers?: Record<string, string> };
      messages?: { details?: { ruleId?: string } }[];
    };
    try {
      tx = JSON.parse(line).transaction ?? {};
    } catch {
      // A line cut by a concurrent write is not a transaction we can attribute.
      continue;
    }
    const headers = tx.request?.headers ?? {};
    const key = Object.keys(headers).find((k) => k.toLowerCase() === CORPUS_ID_HEADER.toLowerCase());
    if (key === undefined) continue;
    const ids = (tx.messages ?? []).map((m) => m.details?.ruleId).filter((id): id is string => !!id);
    byId.set(headers[key]!, [...new Set(ids)].sort());
  }
  return byId;
}

async function waitReady(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new WafDiffError(
        'WAFDIFF_START',
        `nginx exited ${child.exitCode ?? child.signalCode}: ${logs()}`,
      );
    }
    try {
      const res = await request(`${url}/`, {
        headers: { host: 'localhost', 'user-agent': 'waf-differential' },
      });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new WafDiffError('WAFDIFF_START', `nginx did not answer on ${url} within 15 s: ${logs()}`);
}

async function startOnce(opts: ReferenceOptions, port: number): Promise<ModSecurityReference> {
  const layout: ReferenceLayout = {
    dir: mkdtempSync(join(tmpdir(), 'triplane-modsec-')),
    port,
    paranoia: opts.paranoia ?? 1,
    workers: opts.workers ?? 1,
    auditLog: opts.auditLog ?? true,
    root: process.getuid?.() === 0,
  };
  writeLayout(layout);
  const argv = nginxArgv(layout.dir);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const errorLog = () => {
    const file = join(layout.dir, 'error.log');
    return `${output}${existsSync(file) ? readFileSync(file, 'utf8') : ''}`.trim().slice(-4000);
  };
  // If the test process dies without stop(), nginx's master still ends, and takes its workers along.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', onExit);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const workers = childPids(child.pid);
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited(child);
        clearTimeout(timer);
        // After a SIGKILL the master cannot stop its workers: do it for it, by pid.
        for (const pid of workers) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone, as it should be.
          }
        }
      }
      rmSync(layout.dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, errorLog);
  } catch (err) {
    await stop();
    throw err;
  }

  const auditFile = join(layout.dir, 'audit.json');
  const auditSize = () => (existsSync(auditFile) ? statSync(auditFile).size : 0);
  let parsed = new Map<string, string[]>();
  const ruleIdsFor = async (corpusId: string) => {
    if (!layout.auditLog) return undefined;
    // A transaction is logged just after its response is sent: an id not yet seen is looked for again
    // once the log has been quiet for 150 ms. Requests nginx refused itself are never logged.
    if (parsed.has(corpusId)) return parsed.get(corpusId);
    let size = auditSize();
    for (let quiet = 0; quiet < 3; ) {
      await sleep(50);
      const next = auditSize();
      quiet = next === size ? quiet + 1 : 0;
      size = next;
    }
    if (size > 0) parsed = parseAuditLog(readFileSync(auditFile, 'utf8'));
    return parsed.get(corpusId);
  };

  return { url, port, paranoia: layout.paranoia, pid: child.pid!, dir: layout.dir, ruleIdsFor, stop };
}

/**
 * Starts a reference nginx + ModSecurity + CRS. Installs the packages first when missing. A port
 * taken between choosing and binding it is retried with another.
 */
export async function startModSecurity(opts: ReferenceOptions = {}): Promise<ModSecurityReference> {
  ensureReferencePackages();
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts, opts.port ?? (await freePort()));
    } catch (err) {
      last = err;
      if (opts.port !== undefined || !String((err as Error).message).includes('Address already in use'))
        throw err;
    }
  }
  throw last;
}
