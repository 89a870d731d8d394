import type { JsonValue, Repositories, State } from '../state/index.ts';

/** What a mutation tells the audit trail about itself. */
export interface AuditEntry {
  /** What was done, `<resource>.<verb>`: `stack.apply`, `domain.remove` … */
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** The store the resource belongs to; null for platform-wide resources (users, tokens). */
  readonly store: string | null;
  /** The resource as API clients see it before the change; null when it did not exist. */
  readonly before?: unknown;
  /** The resource as API clients see it after the change; null when it no longer exists. */
  readonly after?: unknown;
}

/** What a mutation returns: its result for the client and its audit entry. */
export interface Change<T> {
  readonly result: T;
  readonly audit: AuditEntry;
}

/**
 * Runs `change` in one transaction and writes its audit event, by `actor`, in that same transaction:
 * the change and its record commit together or not at all. `before`/`after` must be what clients see
 * (DTOs), never secrets.
 */
export async function audited<T>(
  state: State,
  actor: string,
  change: (tx: Repositories) => Promise<Change<T>>,
): Promise<T> {
  return state.transaction(async (tx) => {
    const { result, audit } = await change(tx);
    await tx.audit.record({
      actor,
      action: audit.action,
      resourceType: audit.resourceType,
      resourceId: audit.resourceId,
      storeId: audit.store,
      before: (audit.before ?? null) as JsonValue,
      after: (audit.after ?? null) as JsonValue,
    });
    return result;
  });
}
