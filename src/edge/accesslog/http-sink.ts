import { Agent, request } from 'undici';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { aborted, deadline } from './abort.ts';
import { AccessLogError, messageOf } from './errors.ts';
import { type LogSink, toNdjson } from './sink.ts';

/** Path of the control plane's access-log intake, below its base URL. */
export const ACCESS_LOG_INTAKE_PATH = '/api/edge/access-log';

/** Statuses that say the batch itself is bad: sending it again would get the same answer. */
const REJECTED = new Set([400, 413, 422]);

/** How an HttpSink talks to the intake. */
export interface HttpSinkOptions {
  /** Sent as `Authorization: Bearer <token>`. @default no header */
  readonly token?: string;
  /** Whole request, from connecting to the last byte of the answer. @default 5000 */
  readonly timeoutMs?: number;
  /** Keep-alive connections to the intake; batches go one at a time, so few are needed. @default 2 */
  readonly connections?: number;
}

/** POSTs each batch as `application/x-ndjson` to the intake URL; any 2xx answer means delivered. */
export class HttpSink implements LogSink {
  readonly url: URL;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly agent: Agent;

  /** `url` is the full intake URL, e.g. `http://127.0.0.1:7070/api/edge/access-log`. */
  constructor(url: string | URL, options: HttpSinkOptions = {}) {
    const problems: string[] = [];
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      problems.push(`url: expected an absolute http(s) URL, got ${JSON.stringify(String(url))}`);
    }
    if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      problems.push(`url: expected an http or https URL, got ${JSON.stringify(parsed.href)}`);
    const timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      problems.push(`timeoutMs: expected a positive integer, got ${JSON.stringify(timeoutMs)}`);
    const connections = options.connections ?? 2;
    if (!Number.isInteger(connections) || connections < 1)
      problems.push(`connections: expected a positive integer, got ${JSON.stringify(connections)}`);
    if (!parsed || problems.length > 0)
      throw new AccessLogError('TP_ACCESSLOG_INVALID_OPTIONS', `http sink: ${problems.join('; ')}`, {
        problems,
      });
    this.url = parsed;
    this.timeoutMs = timeoutMs;
    this.headers = { 'content-type': 'application/x-ndjson' };
    if (options.token) this.headers.authorization = `Bearer ${options.token}`;
    // An Agent opens nothing until the first request, so the constructor stays free of side effects.
    this.agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  }

  /** Sends one batch; rejects with a coded error unless the intake answers 2xx. */
  async send(batch: readonly AccessLogRecord[], signal?: AbortSignal): Promise<void> {
    const what = `POST ${this.url.href}`;
    const limit = deadline(this.timeoutMs, what, signal);
    try {
      // Raced against the signal too: undici honours it, but only between its own steps.
      const { statusCode, body } = await Promise.race([
        request(this.url, {
          method: 'POST',
          headers: this.headers,
          body: toNdjson(batch),
          dispatcher: this.agent,
          signal: limit.signal,
        }),
        aborted(limit.signal),
      ]);
      const text = await head(body, 300);
      if (statusCode >= 200 && statusCode < 300) return;
      const code = REJECTED.has(statusCode) ? 'TP_ACCESSLOG_SINK_REJECTED' : 'TP_ACCESSLOG_SINK_STATUS';
      throw new AccessLogError(code, `${what}: intake answered ${statusCode}${text ? `: ${text}` : ''}`, {
        status: statusCode,
      });
    } catch (e) {
      if (e instanceof AccessLogError) throw e;
      if (limit.signal.aborted) throw limit.signal.reason;
      throw new AccessLogError('TP_ACCESSLOG_SINK_FAILED', `${what}: ${messageOf(e)}`, {}, { cause: e });
    } finally {
      limit.dispose();
    }
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    // Destroy rather than close: by now every batch is delivered or spooled, and a request still
    // open is one the shipper already gave up on, which must not hold up shutdown.
    await this.agent.destroy();
  }
}

/**
 * The start of an answer's body, for the error message. The body is read to its end (so the
 * connection can be reused) but only `max` characters are kept: an error page could be large.
 */
async function head(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  let text = '';
  for await (const chunk of body) if (text.length < max) text += chunk.toString('utf8');
  return text.slice(0, max).trim();
}
