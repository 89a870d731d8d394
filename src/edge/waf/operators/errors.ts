import type { SourceLocation } from '../types.ts';

/** Stable code of every operator that cannot be compiled (unknown name, bad parameter, unreadable file). */
export type WafOperatorErrorCode = 'TP_WAF_OPERATOR';

/** An operator that cannot be compiled; the message names the rule's file:line and the operator. */
export class WafOperatorError extends Error {
  readonly code: WafOperatorErrorCode = 'TP_WAF_OPERATOR';
  readonly loc: SourceLocation;
  readonly operator: string;
  constructor(loc: SourceLocation, operator: string, reason: string) {
    super(`${loc.file}:${loc.line}: @${operator}: ${reason}`);
    this.name = 'WafOperatorError';
    this.loc = loc;
    this.operator = operator;
  }
}

/**
 * A problem found while compiling a parameter, before the location is known; `compileOperator` turns it
 * into a `WafOperatorError` that names the rule.
 */
export class OperatorParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorParamError';
  }
}
