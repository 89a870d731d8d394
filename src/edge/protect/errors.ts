import type { SnapshotProblem } from '../../contracts/snapshot.ts';

/** A coded error from the protection primitives: `code` is stable, `status` is what a client would see. */
export class ProtectError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;
  constructor(code: string, status: number, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ProtectError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** Part of a store policy cannot be compiled; `problems` lists every bad value at once. */
export class PolicyError extends ProtectError {
  readonly problems: readonly SnapshotProblem[];
  constructor(
    code: 'TP_EDGE_BAD_CIDR' | 'TP_EDGE_BAD_BOT_PATTERN' | 'TP_EDGE_BAD_POLICY',
    problems: readonly SnapshotProblem[],
    store?: string,
  ) {
    const list = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    super(code, 400, store ? `store ${store}: ${list}` : list, { problems, store });
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

/** Why an overload queue turned a request away. */
export type OverloadReason = 'queue-full' | 'queue-timeout';

/** A store has more requests than it may run and queue; the client should retry after `retryAfterSec`. */
export class OverloadedError extends ProtectError {
  constructor(
    readonly reason: OverloadReason,
    readonly retryAfterSec: number,
  ) {
    super('TP_EDGE_OVERLOADED', 503, `store overloaded: ${reason}`, { reason, retryAfterSec });
    this.name = 'OverloadedError';
  }
}
