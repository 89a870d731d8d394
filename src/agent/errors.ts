/** Coded errors raised by the agent: each has a stable `code` that scripts and the API can match. */
export class AgentError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    this.details = details;
  }
}

/** A command exited non-zero, could not start, or ran past its timeout. */
export class CommandError extends AgentError {
  constructor(
    code: 'TP_CMD_FAILED' | 'TP_CMD_TIMEOUT' | 'TP_CMD_SPAWN',
    message: string,
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(code, message, { argv, exitCode, stderr: stderr.slice(-2000) });
    this.name = 'CommandError';
  }
}
