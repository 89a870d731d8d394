import type { CompiledOperator, OperatorContext, OperatorResult } from '../types.ts';

/** Whether a parameter holds `%{…}` macros, which ModSecurity expands per transaction. */
export function hasMacro(param: string): boolean {
  return /%\{[^}]*\}/.test(param);
}

export const NO_MATCH: OperatorResult = Object.freeze({ matched: false });
export const MATCH: OperatorResult = Object.freeze({ matched: true });

/**
 * Builds an operator whose parameter is first prepared by `prepare` (parsed, compiled): once when the
 * parameter is static, and per call (through a small cache keyed by the expanded text) when it holds
 * macros. ModSecurity evaluates the macros of the same operators (`RunTimeString::evaluate`).
 */
export function withParam<P>(
  name: string,
  param: string,
  prepare: (text: string) => P,
  test: (prepared: P, value: string) => OperatorResult,
): CompiledOperator {
  if (!hasMacro(param)) {
    const prepared = prepare(param);
    return { name, dynamic: false, run: (value) => test(prepared, value) };
  }
  const cache = new Map<string, P>();
  return {
    name,
    dynamic: true,
    run(value: string, ctx: OperatorContext): OperatorResult {
      const text = ctx.expand(param);
      let prepared = cache.get(text);
      if (prepared === undefined) {
        prepared = prepare(text);
        // A handful of distinct expansions is the normal case (one per configured value); the cap
        // keeps an attacker-influenced macro from growing the cache without bound.
        if (cache.size >= 64) cache.clear();
        cache.set(text, prepared);
      }
      return test(prepared, value);
    },
  };
}
