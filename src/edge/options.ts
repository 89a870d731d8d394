/** How an edge process is started (`triplane edge …`). */
export interface EdgeOptions {
  /** State: last-known-good snapshot, access-log spool, default certificate. */
  readonly dataDir: string;
  /** Snapshot file to load and watch; or… */
  readonly snapshotFile?: string;
  /** …the control plane's base URL to long-poll. */
  readonly controlUrl?: string;
  readonly controlToken?: string;
  readonly edgeId: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly https: { readonly host: string; readonly port: number } | null;
  readonly metrics: { readonly host: string; readonly port: number };
  /** @default one per core */
  readonly workers: number;
  /**
   * WAF inspection threads per worker (each holds its own compiled rule sets, about 90 MiB with the
   * CRS). All of a client's connections go to one worker, so this is how many cores one busy client
   * — or a CDN's few addresses — can keep inspecting. @default 1
   */
  readonly wafThreads: number;
  /** Where access-log batches go: an http(s) intake URL or a file path. */
  readonly accessLog: string;
  /** Memory for the edge cache, per worker. @default 64 MiB */
  readonly cacheBytes: number;
  /** Disk the access-log spool may use per worker while the sink is down. @default 64 MiB */
  readonly spoolBytes: number;
}

/** Parses "127.0.0.1:8080" or "8080" (loopback by default). */
export function parseListen(text: string, field: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 1 || port > 65535)
    throw new Error(`${field}: expected host:port like "127.0.0.1:8080", got ${JSON.stringify(text)}`);
  return { host: m[1] ?? '127.0.0.1', port };
}
