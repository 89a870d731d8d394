import { AccessLogError } from './errors.ts';

/** A signal that aborts after `ms` or when `parent` aborts, and the cleanup to call once done. */
export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Aborts with a TP_ACCESSLOG_SEND_TIMEOUT error after `ms`, or with the parent's reason. Written by
 * hand rather than with `AbortSignal.any` because the parent lives as long as the log, and listeners
 * must be removed after every send or they would pile up on it.
 */
export function deadline(ms: number, what: string, parent?: AbortSignal): Deadline {
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new AccessLogError('TP_ACCESSLOG_SEND_TIMEOUT', `${what}: no answer within ${ms} ms`)),
    ms,
  );
  const onParent = () => ctl.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: ctl.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Rejects with the signal's reason once it aborts, so work that ignores the signal can be raced. */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
