/** Stable codes of the fleet's own errors (the routes answer with ApiError and StateError). */
export type FleetErrorCode =
  /** An option of a hub, reconciler or snapshot builder is out of range. */
  | 'TP_FLEET_INVALID_OPTIONS'
  /** A snapshot built from the state failed validation: a builder bug, never published. */
  | 'TP_FLEET_SNAPSHOT_INVALID';

/** A coded error of the control plane's fleet side; `details` names what was wrong. */
export class FleetError extends Error {
  constructor(
    readonly code: FleetErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FleetError';
  }
}

/** Throws TP_FLEET_INVALID_OPTIONS unless every given value is a positive integer; names each bad one. */
export function checkPositiveInts(what: string, values: Record<string, number | undefined>): void {
  const problems = Object.entries(values)
    .filter(([, v]) => v !== undefined && (!Number.isInteger(v) || v < 1))
    .map(([k, v]) => `${what}.${k}: expected a positive integer, got ${JSON.stringify(v)}`);
  if (problems.length > 0)
    throw new FleetError('TP_FLEET_INVALID_OPTIONS', problems.join('; '), { problems });
}
