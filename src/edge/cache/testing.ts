import { CacheRules } from '../../contracts/snapshot.ts';
import type { CacheRequest, StoredResponse, UpstreamFetch } from './types.ts';

/** The instant the test clocks start at. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');

/** A clock tests move by hand. */
export class Clock {
  constructor(private t = T0) {}
  readonly now = (): number => this.t;
  /** Moves the clock forward by `sec` seconds. */
  advance(sec: number): void {
    this.t += sec * 1000;
  }
}

/** Cache rules with the schema's defaults, overridden as given. */
export function rules(overrides: Partial<CacheRules> = {}): CacheRules {
  return CacheRules.parse(overrides);
}

/** A GET (or HEAD) of `path` on shop.test. */
export function request(
  path: string,
  headers: CacheRequest['headers'] = {},
  method: CacheRequest['method'] = 'GET',
): CacheRequest {
  return { method, host: 'shop.test', path, headers };
}

/** An upstream response with a text body. */
export function response(
  body: string,
  headers: Record<string, string | string[]> = {},
  status = 200,
): StoredResponse {
  return { status, headers, body: Buffer.from(body) };
}

/** What a fake upstream replies to its n-th call: a response, an error to throw, or a pending reply. */
export type Reply = StoredResponse | Error | Promise<StoredResponse>;

/**
 * The upstream boundary in tests: replies in order (the last one repeats) and records the
 * conditional headers of every call.
 */
export class FakeUpstream {
  readonly calls: Record<string, string>[] = [];
  private readonly replies: Reply[];

  constructor(...replies: Reply[]) {
    this.replies = replies;
  }

  readonly fetch: UpstreamFetch = async (conditional) => {
    this.calls.push({ ...conditional });
    const reply = this.replies[Math.min(this.calls.length, this.replies.length) - 1]!;
    if (reply instanceof Error) throw reply;
    return reply;
  };
}

/** A promise the test settles when it wants, to hold an upstream fetch open. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The response body as text. */
export function text(r: StoredResponse): string {
  return r.body.toString();
}
