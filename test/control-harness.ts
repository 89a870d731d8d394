import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import {
  cpusAllowedIn,
  formatCpuList,
  hostManagementCpus,
  MANAGEMENT_CPUS_ENV,
  parseCpuList,
} from '../src/contracts/priority.ts';
import { EdgeProcess, freePort } from './edge/harness.ts';
import { ROOT, triplane } from './helpers.ts';

/**
 * A real `triplane control` on a free loopback port with its own data directory, and the edge that
 * follows it (its admin port picked first: the control plane purges through it).
 */
export class ControlProcess {
  child: ChildProcess | undefined;
  output = '';
  port = 0;
  url = '';
  admin = '';
  edgeToken = '';

  constructor(readonly dataDir: string) {}

  /** `triplane control init`, a free port, and the edge wired to this control plane (not started). */
  async init(): Promise<EdgeProcess> {
    const r = triplane(['control', '--data-dir', this.dataDir, 'init']);
    if (r.code !== 0) throw new Error(`control init failed: ${r.stderr}`);
    this.admin = readFileSync(join(this.dataDir, 'control', 'admin-token'), 'utf8').trim();
    this.edgeToken = readFileSync(join(this.dataDir, 'control', 'edge-token'), 'utf8').trim();
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const edge = new EdgeProcess([
      '--control',
      this.url,
      '--token',
      this.edgeToken,
      '--access-log',
      `${this.url}/api/edge/access-log`,
    ]);
    edge.metricsPort = await freePort();
    this.edgeAdmin = `http://127.0.0.1:${edge.metricsPort}`;
    return edge;
  }

  private edgeAdmin = '';

  /** Starts the control plane and waits until `/api/health` answers. */
  async start(): Promise<void> {
    const args = ['control', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${this.port}`];
    this.child = spawn(`${ROOT}triplane`, [...args, '--edge-admin', this.edgeAdmin], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => {
      this.output += d;
    });
    this.child.stderr!.on('data', (d) => {
      this.output += d;
    });
    for (let i = 0; i < 300; i++) {
      try {
        if ((await request(`${this.url}/api/health`)).statusCode === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`control plane did not start:\n${this.output}`);
  }

  /** A one-time join token for a new node, from the API as the admin. */
  async joinToken(): Promise<string> {
    const r = await request(`${this.url}/api/join-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
    return ((await r.body.json()) as { token: string }).token;
  }

  /** SIGTERM (SIGKILL after 15 s); resolves with how long the process took to exit. */
  async stop(): Promise<number> {
    const c = this.child;
    if (!c || c.exitCode !== null) return 0;
    const exited = new Promise((r) => c.once('exit', r));
    const t0 = Date.now();
    c.kill('SIGTERM');
    const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(kill);
    return Date.now() - t0;
  }
}

/** A `triplane` child process whose output is kept, for failure messages and TRIPLANE_TEST_KEEP logs. */
export interface TriplaneChild {
  readonly name: string;
  readonly child: ChildProcess;
  out: string;
}

/** Starts `./triplane args…`, collecting stdout and stderr in `out`. */
export function spawnTriplane(name: string, args: readonly string[]): TriplaneChild {
  const p: TriplaneChild = {
    name,
    child: spawn(`${ROOT}triplane`, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    out: '',
  };
  p.child.stdout!.on('data', (d) => {
    p.out += d;
  });
  p.child.stderr!.on('data', (d) => {
    p.out += d;
  });
  return p;
}

/** Stops children newest first: SIGTERM, SIGKILL after 20 s. */
export async function stopChildren(children: readonly TriplaneChild[]): Promise<void> {
  for (const p of [...children].reverse()) {
    if (p.child.exitCode !== null) continue;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}

/** The processes whose parent is `pid`, with their command lines (argv). */
export function childrenOf(pid: number): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== pid || fields[0] === 'Z') continue;
      out.push({
        pid: Number(d),
        argv: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

/** Field `n` of /proc/PID/stat: 19 is the niceness, 41 the scheduling policy (`SCHED_IDLE`). */
export function statField(pid: number, n: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]);
}

/** The CPUs `pid` may run on, as the kernel lists them (`0-1`). */
export function cpusAllowed(pid: number | 'self'): string {
  const list = cpusAllowedIn(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(list, `no Cpus_allowed_list for ${pid}`);
  return list;
}

/**
 * Has management work started by this test process keep to the last of its CPUs, when it has two or
 * more and the setting is not given: by default none are set apart, and these tests must see a list
 * reach the processes. Call before anything asks for `hostManagementCpus()`.
 */
export function setApartLastCpu(): void {
  if (process.env[MANAGEMENT_CPUS_ENV] !== undefined) return;
  const own = parseCpuList(cpusAllowed('self'))!;
  if (own.length >= 2) process.env[MANAGEMENT_CPUS_ENV] = String(own.at(-1));
}

/** The CPUs management work runs on here, as the kernel lists them. */
export function managementCpuList(): string {
  const cpus = hostManagementCpus();
  return cpus ? formatCpuList(cpus) : cpusAllowed('self');
}

/** The idle scheduling policy as /proc/PID/stat field 41 shows it. */
export const SCHED_IDLE = 5;

/** Whether `pid` is a process that has not exited (a zombie has). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
