/**
 * The string comparison operators. All compare bytes exactly (no case folding), as libmodsecurity's
 * `std::string` comparisons do; each expands macros in its parameter.
 */
import type { CompiledOperator } from '../types.ts';
import { MATCH, NO_MATCH, withParam } from './macro.ts';

const same = (p: string): string => p;

/** `@streq`: the value equals the parameter. */
export function streq(param: string): CompiledOperator {
  return withParam('streq', param, same, (p, v) => (v === p ? MATCH : NO_MATCH));
}

/** `@contains` and `@strmatch`: the parameter occurs in the value (an empty parameter always does). */
export function contains(name: string, param: string): CompiledOperator {
  return withParam(name, param, same, (p, v) => (v.includes(p) ? MATCH : NO_MATCH));
}

/** `@beginsWith`: the value starts with the parameter. */
export function beginsWith(param: string): CompiledOperator {
  return withParam('beginsWith', param, same, (p, v) => (v.startsWith(p) ? MATCH : NO_MATCH));
}

/** `@endsWith`: the value ends with the parameter. */
export function endsWith(param: string): CompiledOperator {
  return withParam('endsWith', param, same, (p, v) => (v.endsWith(p) ? MATCH : NO_MATCH));
}

/**
 * `@within`: the value occurs *anywhere* in the parameter — a substring test, not a list membership
 * test (`GE` is "within" `GET POST`), and an empty value always matches. CRS guards against the
 * substring effect itself by wrapping lists in `|…|` or spaces.
 */
export function within(param: string): CompiledOperator {
  return withParam('within', param, same, (p, v) => (v === '' || p.includes(v) ? MATCH : NO_MATCH));
}

/** Whether byte `i` of `s` may border a word: it exists and is not an ASCII letter (digits may). */
function borders(s: string, i: number): boolean {
  if (i < 0 || i >= s.length) return false;
  const c = s.charCodeAt(i) | 0x20;
  return c < 0x61 || c > 0x7a;
}

/**
 * `@containsWord`: the parameter occurs in the value as a word. ModSecurity's notion of a word
 * boundary is "not an ASCII letter" on the bordering side(s); at the start or end of the value only
 * the inner side is checked, and a value equal to the parameter matches. An empty parameter always
 * matches; an empty value never does.
 */
export function containsWord(param: string): CompiledOperator {
  return withParam('containsWord', param, same, (p, v) => {
    if (p === '') return MATCH;
    if (v === '') return NO_MATCH;
    if (v === p) return MATCH;
    for (let pos = v.indexOf(p); pos !== -1; pos = v.indexOf(p, pos + 1)) {
      const end = pos + p.length;
      if (pos === 0 && borders(v, end)) return MATCH;
      if (end === v.length && borders(v, pos - 1)) return MATCH;
      if (borders(v, pos - 1) && borders(v, end)) return MATCH;
    }
    return NO_MATCH;
  });
}
