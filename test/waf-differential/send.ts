/**
 * Sends a corpus to a WAF under test and records each answer. Well-formed requests go through undici;
 * requests undici refuses to build (no Host, odd versions, conflicting framing, bad header lines) go
 * as the corpus's exact bytes over a plain socket.
 */
import { connect } from 'node:net';
import { type Dispatcher, Pool } from 'undici';
import type { CorpusRequest } from './corpus.ts';
import { CORPUS_ID_HEADER } from './modsecurity.ts';

/** What the WAF under test answered to one corpus request. */
export interface Verdict {
  /** HTTP status, or 0 when no answer came (error or timeout). */
  readonly status: number;
  /** Status 403: the WAF refused the request. Other 4xx are the server's own refusals. */
  readonly blocked: boolean;
  /** Why no answer came, when status is 0. */
  readonly error?: string;
  /** Ids of the rules that matched, when the side can tell (see `withRuleIds`). */
  readonly ruleIds?: readonly string[];
}

/** How to send a corpus. */
export interface SendOptions {
  /** Requests in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * Host header for requests whose corpus entry does not set one (raw requests get it for their
   * `{{host}}`). The Triplane edge routes by it, so it names a store there.
   * @default 'shop.localhost'
   */
  readonly host?: string;
  /** Time for one answer. @default 10000 */
  readonly timeoutMs?: number;
}

/** The raw bytes of a corpus request as sent: `{{host}}` filled in, the corpus id header added. */
export function rawBytes(r: CorpusRequest, host: string): Buffer {
  const text = r.raw!.replaceAll('{{host}}', host);
  const eol = text.indexOf('\r\n');
  // The id header goes right after the request line, so even a request with a broken header block
  // can be found in the reference's audit log.
  const withId =
    eol < 0 ? text : `${text.slice(0, eol + 2)}${CORPUS_ID_HEADER}: ${r.id}\r\n${text.slice(eol + 2)}`;
  return Buffer.from(withId, 'latin1');
}

/** Status of a raw HTTP/1.x answer, once its head (and body, when its length is known) has arrived. */
export function parseRawResponse(data: Buffer): { status: number; complete: boolean } | undefined {
  const text = data.toString('latin1');
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(text);
  if (!m) return undefined;
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return { status: Number(m[1]), complete: false };
  const len = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd));
  const complete = len !== null && data.length >= headEnd + 4 + Number(len[1]);
  return { status: Number(m[1]), complete };
}

function sendRaw(url: URL, r: CorpusRequest, host: string, timeoutMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const finish = (error?: string) => {
      socket.destroy();
      clearTimeout(timer);
      const parsed = parseRawResponse(Buffer.concat(chunks));
      if (parsed) resolve({ status: parsed.status, blocked: parsed.status === 403 });
      else resolve({ status: 0, blocked: false, error: error ?? 'connection closed without an answer' });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(rawBytes(r, host)));
    socket.on('data', (d) => {
      chunks.push(d);
      if (parseRawResponse(Buffer.concat(chunks))?.complete) finish();
    });
    socket.on('end', () => finish());
    socket.on('error', (err) => finish(err.message));
  });
}

async function sendUndici(pool: Pool, r: CorpusRequest, host: string, timeoutMs: number): Promise<Verdict> {
  const hasHost = Object.keys(r.headers).some((k) => k.toLowerCase() === 'host');
  const headers = { ...(hasHost ? {} : { host }), ...r.headers, [CORPUS_ID_HEADER]: r.id };
  let lastError = '';
  // One retry: a keep-alive connection the server closed after a refusal can fail the next request.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const res = await pool.request({
        path: r.path,
        method: r.method as Dispatcher.HttpMethod,
        headers,
        body: r.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      // Read to the end, not dump()ed: dump() gives up after 128 KiB and closes the connection, and
      // ModSecurity runs phase 4 only once the whole response went out.
      for await (const _ of res.body) {
        // Every byte is read and dropped.
      }
      return { status: res.statusCode, blocked: res.statusCode === 403 };
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  return { status: 0, blocked: false, error: lastError };
}

/** Sends every corpus request to `baseUrl` and returns the verdicts by corpus id. */
export async function sendAll(
  baseUrl: string,
  corpus: readonly CorpusRequest[],
  opts: SendOptions = {},
): Promise<Map<string, Verdict>> {
  const url = new URL(baseUrl);
  const concurrency = opts.concurrency ?? 8;
  const host = opts.host ?? 'shop.localhost';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  const out = new Map<string, Verdict>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < corpus.length; i = next++) {
      const r = corpus[i]!;
      const v =
        r.raw !== undefined
          ? await sendRaw(url, r, host, timeoutMs)
          : await sendUndici(pool, r, host, timeoutMs);
      out.set(r.id, v);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await pool.close();
  }
  // Back in corpus order, whatever order the answers came in.
  return new Map(corpus.map((r) => [r.id, out.get(r.id)!]));
}

/** The verdicts with each one's matched rule ids, looked up by corpus id. */
export async function withRuleIds(
  verdicts: ReadonlyMap<string, Verdict>,
  lookup: (id: string) => Promise<readonly string[] | undefined>,
): Promise<Map<string, Verdict>> {
  const out = new Map<string, Verdict>();
  for (const [id, v] of verdicts) {
    const ruleIds = await lookup(id);
    out.set(id, ruleIds === undefined ? v : { ...v, ruleIds });
  }
  return out;
}
