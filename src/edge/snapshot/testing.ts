import type { SnapshotLog } from './source.ts';

/** One log call captured by `recordingLog`. */
export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

/** A log that keeps every call, so tests can assert what an operator would see. */
export function recordingLog(): { log: SnapshotLog; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (obj: object, msg: string): void => {
      records.push({ level, obj, msg });
    };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, records };
}

/** Resolves when `condition` holds, checking every 10 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A small valid snapshot input: one route of store "demo" to pool "demo-app". */
export function snapshotInput(
  version: number,
  overrides: Record<string, unknown> = {},
): { version: number } & Record<string, unknown> {
  return {
    version,
    routes: [{ id: 'demo', store: 'demo', hosts: ['demo.localhost'], pool: 'demo-app' }],
    pools: [{ id: 'demo-app', members: [{ host: '127.0.0.1', port: 8001 }] }],
    ...overrides,
  };
}
