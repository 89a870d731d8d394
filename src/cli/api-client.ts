import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ErrorBody } from '../contracts/api.ts';
import { EXIT } from './output.ts';

/** Where the CLI finds the control plane and its token. */
export interface Credentials {
  readonly url: string;
  readonly token: string;
}

/** The CLI's own credentials file (`triplane login` writes it, mode 0600). */
export function credentialsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'triplane', 'credentials.json');
}

/** The admin token `triplane up` / `control init` writes in the data directory. */
export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'control', 'admin-token');
}

/** Default API address of a control plane on this machine. */
export const LOCAL_API = 'http://127.0.0.1:7070';

/**
 * Credentials in order: flags, TRIPLANE_URL/TRIPLANE_TOKEN, the login file, then the local admin
 * token of `triplane up` (so one machine works without a login). Null when none is found.
 */
export function findCredentials(o: { url?: string; token?: string; dataDir: string }): Credentials | null {
  const url = o.url ?? process.env.TRIPLANE_URL;
  const token = o.token ?? process.env.TRIPLANE_TOKEN;
  if (token) return { url: url ?? LOCAL_API, token };
  const file = credentialsFile();
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
    return { url: url ?? saved.url, token: saved.token };
  }
  const local = adminTokenFile(o.dataDir);
  if (existsSync(local)) return { url: url ?? LOCAL_API, token: readFileSync(local, 'utf8').trim() };
  return null;
}

/** Saves credentials for later commands, readable only by their owner. */
export function saveCredentials(c: Credentials): string {
  const file = credentialsFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** An API call that failed, with the exit code a script can branch on. */
export class CliApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Exit code for an HTTP status: 2 bad input, 3 not allowed, 4 not found, 5 control plane unavailable or busy. */
export function exitCodeFor(status: number): number {
  if (status === 400 || status === 409) return EXIT.invalid;
  if (status === 401 || status === 403) return EXIT.denied;
  if (status === 404) return EXIT.notFound;
  if (status === 429 || status >= 500) return EXIT.unavailable;
  return EXIT.failed;
}

/** A thin client of the control-plane API: JSON in, JSON out, coded errors. */
export class ApiClient {
  constructor(
    readonly creds: Credentials,
    /** How long 429 answers are waited out before the call fails. @default 60 000 */
    readonly busyWaitMs = 60_000,
  ) {}

  /**
   * Calls the API; returns the parsed JSON body (undefined for 204). An answer 429 (the control
   * plane's analytics reads are busy), or a read's 503 that names when to come back (its analytics
   * reader is starting again), is retried after the time it names, for up to `busyWaitMs` in all,
   * as a polling script would want rather than failing.
   */
  async call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const giveUpAt = Date.now() + this.busyWaitMs;
    for (;;) {
      try {
        return await this.once<T>(method, path, body);
      } catch (e) {
        if (!(e instanceof CliApiError)) throw e;
        const later =
          e.code === 'TP_API_BUSY' ||
          (e.code === 'TP_API_UNAVAILABLE' && method === 'GET' && e.details.retryAfterSeconds !== undefined);
        if (!later) throw e;
        const wait = 1000 * Math.max(1, Number(e.details.retryAfterSeconds) || 1);
        if (Date.now() + wait > giveUpAt) throw e;
        await sleep(wait);
      }
    }
  }

  private async once<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.creds.url);
    let r: Awaited<ReturnType<typeof request>>;
    try {
      r = await request(url, {
        method,
        headers: {
          authorization: `Bearer ${this.creds.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 60_000,
      });
    } catch (e) {
      throw new CliApiError(
        'TP_CLI_UNREACHABLE',
        `cannot reach the control plane at ${this.creds.url}: ${(e as Error).message}`,
        EXIT.unavailable,
      );
    }
    const text = await r.body.text();
    if (r.statusCode >= 400) {
      let parsed: ErrorBody | undefined;
      try {
        const e = ErrorBody.safeParse(JSON.parse(text));
        if (e.success) parsed = e.data;
      } catch {
        parsed = undefined;
      }
      throw new CliApiError(
        parsed?.code ?? `HTTP_${r.statusCode}`,
        parsed?.message ?? `${method} ${path}: HTTP ${r.statusCode} ${text.slice(0, 200)}`,
        exitCodeFor(r.statusCode),
        parsed?.details ?? {},
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
