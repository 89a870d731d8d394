import type { WafSettings } from '../../contracts/snapshot.ts';
import {
  inspectRequest,
  inspectResponse,
  inspectsResponseBody,
  type RuleSet,
  type WafRequest,
  type WafResponse,
  type WafTransaction,
  wafEvent,
} from './index.ts';
import type { Inspection, WafOffload } from './offload.ts';
import { inspectedBody } from './response-body.ts';

/**
 * Exchanges up to this size (target, headers and body of a request; status, headers and inspected
 * body of a response), none of whose values is longer than INLINE_INSPECTION_VALUE_BYTES, may be
 * inspected on the event loop when no inspection thread is free of large jobs; others always go to
 * a thread. Some CRS patterns backtrack cubically in a JavaScript engine (941160 on a run of
 * '<': 0.24 s at 1 KB, 15 s at 4 KB; 950130 on a response of repeated "<TITLE>Index of": 1 s at
 * 512 KB), so only short values may meet them on the event loop.
 */
export const INLINE_INSPECTION_BYTES = 8 * 1024;
export const INLINE_INSPECTION_VALUE_BYTES = 512;

/** Headers as Node and undici give them: lower-case names, repeated ones as arrays. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

const NOTHING: Inspection = { interrupted: undefined, event: undefined, timedOut: false };

/**
 * One request's way through the WAF, from its request phases to its response phases. They run on
 * the worker's inspection threads (see WafOffload): the event loop only proxies, and one client's
 * traffic (all on one worker) can use as many cores as the worker has threads. A small request
 * never waits behind a large one, whose values may take a pathological pattern to its deadline:
 * when no thread is free of large jobs, it goes through its phases on the event loop. The
 * transaction lives where the request phases ran: on the thread (kept by job id) or on the event
 * loop. The response phases run beside it when they can; when the response is too large for the
 * event loop, or the thread no longer holds the transaction, a thread runs the request phases again
 * and then the response phases — a transaction depends on nothing but its request and rule set, so
 * that is the same transaction.
 */
export class WafExchange {
  private constructor(
    private readonly rules: RuleSet,
    private readonly settings: WafSettings,
    private readonly offload: WafOffload,
    private readonly request: WafRequest,
    private readonly body: Buffer | undefined,
    /** What the request phases decided. */
    readonly result: Inspection,
    /** The transaction, while it is here and its response phases have not run. */
    private tx: WafTransaction | undefined,
    /** The inspection thread's id of the transaction it keeps, while it keeps it. */
    private kept: number | undefined,
  ) {}

  /** Runs the request phases of a request whose body (if any) is read. */
  static async request(
    rules: RuleSet,
    settings: WafSettings,
    request: WafRequest,
    body: Buffer | undefined,
    offload: WafOffload,
  ): Promise<WafExchange> {
    const text = body === undefined ? '' : body.toString('latin1');
    const long = !smallRequest(request, text);
    if (!long && !offload.hasFreeThread()) {
      const tx = inspectRequest(rules, settings, request, text);
      const v = tx.verdict();
      const result = {
        interrupted: v.interrupted,
        event: wafEvent(tx, settings, tx.blocked),
        timedOut: false,
      };
      // It waits for the upstream now: the less it holds meanwhile, the less the collector has to move.
      tx.compact();
      return new WafExchange(rules, settings, offload, request, body, result, tx, undefined);
    }
    // Off the event loop, with a deadline (see WafOffload).
    const { kept, ...result } = await offload.inspect(settings, request, text, true, long);
    return new WafExchange(rules, settings, offload, request, body, result, undefined, kept);
  }

  /**
   * How many bytes of a response body to read before the response phases: the body limit when
   * phase 4 looks at this content type, 0 when it does not or there is no body (HEAD, 1xx, 204, 304).
   */
  peekBytes(method: string, status: number, headers: HeaderRecord): number {
    if (this.result.timedOut || !hasBody(method, status)) return 0;
    return inspectsResponseBody(this.rules.config, first(headers['content-type'])?.split(';')[0])
      ? this.rules.config.responseBodyLimit
      : 0;
  }

  /**
   * Runs the response phases on a response's status, headers and the start of its body (`head`,
   * the `peekBytes` read; `complete` when that is the whole body). A request whose phases ran out of
   * time has no transaction: its response is not inspected.
   */
  async response(
    method: string,
    status: number,
    headers: HeaderRecord,
    head: Buffer | undefined,
    complete: boolean,
  ): Promise<Inspection> {
    if (this.result.timedOut) return NOTHING;
    const config = this.rules.config;
    let body: { text: string; partial: boolean } | undefined;
    if (inspectsResponseBody(config, first(headers['content-type'])?.split(';')[0])) {
      body =
        head !== undefined && hasBody(method, status)
          ? await inspectedBody(head, complete, first(headers['content-encoding']), config.responseBodyLimit)
          : { text: '', partial: false };
    }
    const response: WafResponse = {
      status,
      headers: headerList(headers),
      body: body?.text,
      partial: body?.partial ?? false,
    };
    const inline = smallResponse(response);
    const tx = this.tx;
    this.tx = undefined;
    if (tx !== undefined && inline) return inspectResponse(tx, this.settings, response);
    if (this.kept !== undefined) {
      const id = this.kept;
      this.kept = undefined;
      const r = await this.offload.respond(this.settings, id, response, !inline);
      if (r !== undefined) return r;
    }
    const text = this.body === undefined ? '' : this.body.toString('latin1');
    const short = inline && smallRequest(this.request, text);
    if (short && !this.offload.hasFreeThread())
      return inspectResponse(
        inspectRequest(this.rules, this.settings, this.request, text),
        this.settings,
        response,
      );
    return this.offload.replay(this.settings, this.request, text, response, !short);
  }

  /** Ends the exchange: the thread may forget the transaction it kept (no response is coming). */
  release(): void {
    this.tx = undefined;
    if (this.kept !== undefined) this.offload.release(this.kept);
    this.kept = undefined;
  }
}

function first(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' || v === undefined ? v : v[0];
}

/** Responses that carry no body (RFC 9110 §6.4.1). */
function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

function headerList(h: HeaderRecord): [string, string][] {
  const out: [string, string][] = [];
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push([k, v]);
    else for (const one of v) out.push([k, one]);
  }
  return out;
}

function smallRequest(r: WafRequest, body: string): boolean {
  let size = r.uri.length + body.length;
  let largest = Math.max(r.uri.length, body.length);
  for (const [k, v] of r.headers) {
    size += k.length + v.length;
    if (v.length > largest) largest = v.length;
  }
  return size <= INLINE_INSPECTION_BYTES && largest <= INLINE_INSPECTION_VALUE_BYTES;
}

function smallResponse(r: WafResponse): boolean {
  const body = r.body?.length ?? 0;
  let size = body;
  let largest = body;
  for (const [k, v] of r.headers) {
    size += k.length + v.length;
    if (v.length > largest) largest = v.length;
  }
  return size <= INLINE_INSPECTION_BYTES && largest <= INLINE_INSPECTION_VALUE_BYTES;
}
