import type { OperatorRef } from '../types.ts';
import { SecLangSyntaxError } from './errors.ts';

/** Parses a SecRule operator: `@name param`, `!@name param`, or a bare pattern meaning `@rx`. */
export function parseOperator(text: string): OperatorRef {
  // The parameter is everything after the spaces that follow the name, trailing spaces included.
  const negated = text.startsWith('!');
  const rest = negated ? text.slice(1).trimStart() : text;
  if (!rest.startsWith('@')) return { name: 'rx', negated, param: rest };
  const match = /^@([A-Za-z][A-Za-z0-9_]*)(?:\s+|$)/.exec(rest);
  if (match === null) throw new SecLangSyntaxError(`invalid operator "${rest.slice(0, 40)}"`);
  return { name: match[1]!, negated, param: rest.slice(match[0].length) };
}
