/**
 * The SecLang operators, compiled once per rule set with libmodsecurity 3.0.9's semantics. Each
 * operator's file says where ModSecurity's behaviour is surprising and what we keep of it.
 */
import type { CompiledOperator, OperatorCompileContext, OperatorRef } from '../types.ts';
import { detectSQLi, detectXSS } from './detect.ts';
import { OperatorParamError, WafOperatorError } from './errors.ts';
import { ipMatch, ipMatchFromFile } from './ip.ts';
import { MATCH, NO_MATCH } from './macro.ts';
import { compare, eq } from './numeric.ts';
import { pm, pmFromFile } from './pm.ts';
import { rx } from './rx.ts';
import { beginsWith, contains, containsWord, endsWith, streq, within } from './strings.ts';
import { validateByteRange, validateUrlEncoding, validateUtf8Encoding } from './validate.ts';

export { WafOperatorError } from './errors.ts';
export { enableLinearRegExpFallback } from './rx.ts';

type Factory = (param: string, ctx: OperatorCompileContext) => CompiledOperator;

const constant = (name: string, matched: boolean): CompiledOperator => ({
  name,
  dynamic: false,
  run: () => (matched ? MATCH : NO_MATCH),
});

/** Every supported operator by its canonical name (as CRS and the ModSecurity reference spell it). */
const FACTORIES: Readonly<Record<string, Factory>> = {
  rx: (p) => rx(p),
  pm: (p) => pm(p),
  pmFromFile: (p, ctx) => pmFromFile('pmFromFile', p, ctx.baseDir),
  pmf: (p, ctx) => pmFromFile('pmf', p, ctx.baseDir),
  detectSQLi: () => detectSQLi,
  detectXSS: () => detectXSS,
  validateByteRange: (p) => validateByteRange(p),
  validateUrlEncoding: () => validateUrlEncoding,
  validateUtf8Encoding: () => validateUtf8Encoding,
  within: (p) => within(p),
  streq: (p) => streq(p),
  strmatch: (p) => contains('strmatch', p),
  beginsWith: (p) => beginsWith(p),
  endsWith: (p) => endsWith(p),
  contains: (p) => contains('contains', p),
  containsWord: (p) => containsWord(p),
  eq: (p) => eq(p),
  ge: (p) => compare('ge', p),
  gt: (p) => compare('gt', p),
  le: (p) => compare('le', p),
  lt: (p) => compare('lt', p),
  ipMatch: (p) => ipMatch(p),
  ipMatchFromFile: (p, ctx) => ipMatchFromFile('ipMatchFromFile', p, ctx.baseDir),
  ipMatchF: (p, ctx) => ipMatchFromFile('ipMatchF', p, ctx.baseDir),
  unconditionalMatch: () => constant('unconditionalMatch', true),
  noMatch: () => constant('noMatch', false),
};

/** The canonical names of the supported operators. */
export const operatorNames: readonly string[] = Object.freeze(Object.keys(FACTORIES));

const BY_LOWER = new Map(operatorNames.map((n) => [n.toLowerCase(), n]));

/** The canonical name of an operator written in any case (`PMFROMFILE` → `pmFromFile`), if supported. */
export function lookupOperator(name: string): string | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

/**
 * Compiles a rule's operator. Throws `WafOperatorError` (code `TP_WAF_OPERATOR`, message
 * `file:line: @name: reason`) for an unknown operator, a parameter it cannot compile or a data
 * file it cannot read. Negation (`!@rx`) is the engine's business: the result is the un-negated one.
 */
export function compileOperator(ref: OperatorRef, ctx: OperatorCompileContext): CompiledOperator {
  const name = lookupOperator(ref.name);
  if (name === undefined) throw new WafOperatorError(ctx.loc, ref.name, 'unknown or unsupported operator');
  try {
    return FACTORIES[name]!(ref.param, ctx);
  } catch (e) {
    if (e instanceof OperatorParamError) throw new WafOperatorError(ctx.loc, ref.name, e.message);
    throw e;
  }
}
