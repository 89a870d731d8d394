import { AgentError } from '../errors.ts';

/** Stable codes for what can go wrong while preparing or inspecting a host. */
export type HostErrorCode =
  | 'TP_HOST_INVALID_STORE_NAME'
  | 'TP_HOST_PROBE_FAILED'
  | 'TP_HOST_PREPARE_FAILED'
  | 'TP_HOST_USER_FAILED'
  | 'TP_HOST_SUBID_EXHAUSTED';

/** A host preparation, probe or store-user operation failed; `cause` keeps the underlying error. */
export class HostError extends AgentError {
  override readonly code: HostErrorCode;
  constructor(code: HostErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, details);
    this.name = 'HostError';
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}
