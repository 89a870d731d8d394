import { Agent, request } from 'undici';
import {
  AgentTask,
  JoinRequest,
  JoinResponse,
  type NodeReport,
  type TaskOutcome,
} from '../../contracts/fleet.ts';
import { AgentError } from '../errors.ts';
import { normalizeUrl } from './state.ts';

/** Timeouts of the agent's requests to the control plane. */
export interface ControlClientOptions {
  /** Longest wait for a TCP connection. @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Longest wait for a join or report answer. @default 10_000 */
  readonly requestTimeoutMs?: number;
}

/** The message of anything thrown, with its code when it has one (undici's, Node's or ours). */
export function codedMessage(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/**
 * The agent's side of the fleet protocol (src/contracts/fleet.ts) over HTTP: one method per endpoint,
 * each throwing a coded error for anything but the answer the protocol promises.
 */
export class ControlClient {
  private readonly base: string;
  private readonly dispatcher: Agent;

  constructor(
    baseUrl: string,
    private readonly o: ControlClientOptions = {},
  ) {
    this.base = normalizeUrl(baseUrl);
    this.dispatcher = new Agent({ connect: { timeout: o.connectTimeoutMs ?? 5_000 } });
  }

  /** Trades a one-time join token for the node's identity (201 JoinResponse). */
  async join(req: JoinRequest): Promise<JoinResponse> {
    const timeout = this.o.requestTimeoutMs ?? 10_000;
    const res = await request(`${this.base}/api/agent/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(JoinRequest.parse(req)),
      dispatcher: this.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode !== 201 && res.statusCode !== 200) {
      throw new AgentError(
        'TP_AGENT_JOIN_FAILED',
        `control plane ${this.base} refused the join with ${res.statusCode}: ${text.slice(0, 300)}`,
        { status: res.statusCode },
      );
    }
    const parsed = JoinResponse.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new AgentError(
        'TP_AGENT_CONTROL_BODY',
        `join answer is not a JoinResponse: ${text.slice(0, 300)}`,
      );
    }
    return parsed.data;
  }

  /**
   * One long poll for the node's desired state: the raw JSON body of a 200 (judged by the caller), or
   * undefined for a 204 (nothing newer while the request was held).
   */
  async desired(after: number, token: string, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    const text = await this.held(
      'GET',
      `/api/agent/desired?after=${after}`,
      'a desired-state poll',
      token,
      timeoutMs,
      signal,
    );
    if (text === undefined) return undefined;
    const body = safeJson(text);
    if (body === undefined) {
      throw new AgentError('TP_AGENT_CONTROL_BODY', `desired state is not JSON: ${text.slice(0, 300)}`);
    }
    return body;
  }

  /** Claims the node's next task: undefined when none came while the request was held. */
  async claimTask(token: string, timeoutMs: number, signal: AbortSignal): Promise<AgentTask | undefined> {
    const text = await this.held('POST', '/api/agent/tasks/claim', 'a task claim', token, timeoutMs, signal);
    if (text === undefined) return undefined;
    const parsed = AgentTask.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new AgentError(
        'TP_AGENT_CONTROL_BODY',
        `task is not an AgentTask: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    return parsed.data;
  }

  /** A request the control plane may hold: the body of a 200, undefined for a 204, else a coded error. */
  private async held(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    token: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const res = await request(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      dispatcher: this.dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined;
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new AgentError(
        'TP_AGENT_CONTROL_STATUS',
        `control plane answered ${res.statusCode} to ${what}: ${text.slice(0, 300)}`,
        { status: res.statusCode },
      );
    }
    return text;
  }

  /** Reports how a task ended; the control plane answers 204. */
  async taskOutcome(id: string, outcome: TaskOutcome, token: string): Promise<void> {
    const timeout = this.o.requestTimeoutMs ?? 10_000;
    const res = await request(`${this.base}/api/agent/tasks/${encodeURIComponent(id)}/outcome`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(outcome),
      dispatcher: this.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode !== 204) {
      throw new AgentError(
        'TP_AGENT_CONTROL_STATUS',
        `control plane answered ${res.statusCode} to a task outcome: ${text.slice(0, 300)}`,
        { status: res.statusCode },
      );
    }
  }

  /** Sends what the node observed; the control plane answers 204. */
  async report(report: NodeReport, token: string): Promise<void> {
    const timeout = this.o.requestTimeoutMs ?? 10_000;
    const res = await request(`${this.base}/api/agent/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      dispatcher: this.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new AgentError(
        'TP_AGENT_CONTROL_STATUS',
        `control plane answered ${res.statusCode} to a report: ${text.slice(0, 300)}`,
        { status: res.statusCode },
      );
    }
  }

  /** Closes the connections once the requests in flight have ended. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // undefined is never valid JSON, so it stands for "not JSON" without a second flag.
    return undefined;
  }
}
