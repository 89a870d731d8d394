/**
 * The numeric comparison operators. ModSecurity parses both sides with C's number parsers, so
 * "numbers" are the longest leading decimal integer after optional whitespace and sign, and anything
 * else reads as 0: `@eq` uses `std::stoi` (a value outside the 32-bit int range reads as 0, since
 * stoi throws and the operator catches it), the others `atoll` (64-bit, clamped on overflow).
 */
import type { CompiledOperator } from '../types.ts';
import { MATCH, NO_MATCH, withParam } from './macro.ts';

const LEADING_INTEGER = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LLONG_MIN = -(2n ** 63n);
const LLONG_MAX = 2n ** 63n - 1n;

/** C `atoll`: the value as a number when exact, else as a bigint clamped to 64 bits. */
export function atoll(s: string): number | bigint {
  const m = LEADING_INTEGER.exec(s);
  if (m === null) return 0;
  const digits = m[2]!;
  if (digits.length <= 15) return m[1] === '-' ? -Number(digits) : Number(digits);
  const big = m[1] === '-' ? -BigInt(digits) : BigInt(digits);
  return big < LLONG_MIN ? LLONG_MIN : big > LLONG_MAX ? LLONG_MAX : big;
}

/** C++ `std::stoi` as `@eq` uses it: 0 when there is no number or it does not fit an int. */
export function stoi(s: string): number {
  const m = LEADING_INTEGER.exec(s);
  if (m === null) return 0;
  const n = Number(m[1] === '-' ? `-${m[2]}` : m[2]);
  return n < INT_MIN || n > INT_MAX ? 0 : n;
}

type Compare = (value: number | bigint, param: number | bigint) => boolean;

const compares: Readonly<Record<'ge' | 'gt' | 'le' | 'lt', Compare>> = {
  ge: (v, p) => v >= p,
  gt: (v, p) => v > p,
  le: (v, p) => v <= p,
  lt: (v, p) => v < p,
};

/** `@eq`: both sides parsed with `stoi`. */
export function eq(param: string): CompiledOperator {
  return withParam('eq', param, stoi, (p, v) => (stoi(v) === p ? MATCH : NO_MATCH));
}

/** `@ge`, `@gt`, `@le`, `@lt`: both sides parsed with `atoll`. */
export function compare(name: keyof typeof compares, param: string): CompiledOperator {
  const cmp = compares[name];
  return withParam(name, param, atoll, (p, v) => (cmp(atoll(v), p) ? MATCH : NO_MATCH));
}
