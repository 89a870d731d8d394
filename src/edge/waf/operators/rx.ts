/**
 * `@rx`: a PCRE pattern, translated once to JavaScript (see pcre.ts). Captures follow libmodsecurity:
 * the whole match and each group up to the highest one that took part (PCRE's return count); a group
 * inside that range that did not take part is left unset by ModSecurity (TX keeps its old value) and
 * is reported here as ''.
 */
import v8 from 'node:v8';
import type { CompiledOperator, OperatorResult } from '../types.ts';
import { OperatorParamError } from './errors.ts';
import { hasMacro, MATCH, NO_MATCH } from './macro.ts';
import { PcreTranslateError, translatePcre } from './pcre.ts';

let expandCase = false;

/**
 * Backtracks one match may take before V8 gives it to the linear engine. V8's default, 50 000, is
 * made for short strings: a response body is up to 512 KiB (by default), and a single
 * `SQL Server.*Driver` (951220) that finds "SQL Server" near the start of a page walks back over the
 * whole rest of it, about one backtrack a byte. Past 50 000 that linear walk moved to the linear
 * engine, which takes seconds on such a page (2.9 s to inspect a 512 KiB page naming SQL Server,
 * against 0.12 s backtracking): the inspection thread was held, and the page missed its deadline.
 * 16 million lets a page of that size name it some ten times and still match by backtracking; a
 * truly catastrophic pattern pays about 0.16 s before it falls back, under the job deadline that
 * bounds it anyway. bench/waf-long-pages.ts measures both sides.
 */
export const BACKTRACKS_BEFORE_FALLBACK = 16_000_000;

/**
 * Opt-in ReDoS mitigation for the process: turns on V8's fallback from backtracking to its
 * linear-time regexp engine after `backtracks` backtracks in one match
 * (`--enable-experimental-regexp-engine-on-excessive-backtracks`), and makes patterns compiled
 * afterwards avoid the `i` flag, which that engine does not support. Results are the same; only
 * patterns without lookarounds, backreferences and large counted repeats can fall back. Call it
 * once at process start, before any pattern runs: V8 fixes a regexp's limit when it first compiles
 * it, and shares that code between regexps of the same source.
 */
export function enableLinearRegExpFallback(backtracks = BACKTRACKS_BEFORE_FALLBACK): void {
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  v8.setFlagsFromString(`--regexp-backtracks-before-fallback=${backtracks}`);
  expandCase = true;
}

/** A translated pattern ready to run on byte strings. */
export class CompiledPattern {
  private readonly full: RegExp;
  private readonly simple: RegExp;
  private readonly groupIndex: readonly number[];

  constructor(pattern: string) {
    const t = translatePcre(pattern, { expandCase });
    this.full = new RegExp(t.source, t.flags);
    this.simple = t.simpleSource === undefined ? this.full : new RegExp(t.simpleSource, t.flags);
    this.groupIndex = t.groupIndex;
  }

  /** Matches like `Regex::searchOneMatch`: the first match from offset 0 and its groups. */
  exec(value: string): OperatorResult {
    const m = (value.includes('\n') ? this.full : this.simple).exec(value);
    if (m === null) return NO_MATCH;
    let last = 0;
    for (let k = this.groupIndex.length - 1; k > 0; k--) {
      if (m[this.groupIndex[k]!] !== undefined) {
        last = k;
        break;
      }
    }
    const captures: string[] = [];
    for (let k = 0; k <= last; k++) captures.push(m[this.groupIndex[k]!] ?? '');
    return { matched: true, captures };
  }
}

/** Compiles a pattern, turning translation problems into parameter errors. */
export function compilePattern(pattern: string): CompiledPattern {
  try {
    return new CompiledPattern(pattern);
  } catch (e) {
    if (e instanceof PcreTranslateError) throw new OperatorParamError(e.message);
    throw new OperatorParamError(
      `pattern /${pattern}/ does not compile: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * `@rx pattern`. An empty static pattern always matches (ModSecurity short-cuts it). A pattern with
 * macros is expanded and compiled per call (cached by expanded text); one that then fails to compile
 * does not match, as ModSecurity logs and moves on.
 */
export function rx(param: string): CompiledOperator {
  if (!hasMacro(param)) {
    if (param === '') return { name: 'rx', dynamic: false, run: () => MATCH };
    const pattern = compilePattern(param);
    return { name: 'rx', dynamic: false, run: (value) => pattern.exec(value) };
  }
  const cache = new Map<string, CompiledPattern | null>();
  return {
    name: 'rx',
    dynamic: true,
    run(value, ctx) {
      const text = ctx.expand(param);
      let pattern = cache.get(text);
      if (pattern === undefined) {
        try {
          // ModSecurity compiles an empty expanded pattern as `.*`.
          pattern = new CompiledPattern(text === '' ? '.*' : text);
        } catch {
          pattern = null;
        }
        if (cache.size >= 64) cache.clear();
        cache.set(text, pattern);
      }
      return pattern === null ? NO_MATCH : pattern.exec(value);
    },
  };
}
