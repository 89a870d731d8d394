/**
 * Translates a PCRE2 pattern, as libmodsecurity 3.0.9 compiles it for `@rx`, into JavaScript
 * RegExps that give the same verdicts and captures on byte strings (Latin-1, one char per byte).
 *
 * ModSecurity compiles every `@rx` with PCRE2_DOTALL | PCRE2_MULTILINE and no UTF mode, so by default
 * `.` matches any byte including `\n`, `^` matches at the start and after every newline except one
 * that ends the subject, and `$` matches before every `\n` and at the very end (PCRE2_DOLLAR_ENDONLY
 * is *not* set). Inline options (`(?i)`, `(?-s)`, `(?i:…)`, `(?x)`, `(?U)`, `(?n)`) change that per
 * group, as in PCRE.
 *
 * Translation rules (the pattern is parsed into a tree first; JS source is emitted from the tree, so
 * no PCRE syntax is ever copied through unchecked):
 * - Every character class, escape class (`\d \w \s \h \v \N \R`…), POSIX class (`[:alpha:]`) and
 *   literal becomes an explicit set of bytes, emitted as a JS class of ranges. This fixes the
 *   differences in meaning (JS `\s` also matches 0xA0; PCRE `\v` is a class; `[]a]` is a literal `]`
 *   in PCRE and an empty class in JS) and expands case-insensitivity exactly: PCRE without UTF folds
 *   only ASCII letters, JS `i` also folds Latin-1 letters (é/É).
 * - Caseless parts: when every case-sensitive part of a pattern is insensitive to case anyway and
 *   no Latin-1 letter would fold differently, the JS `i` flag is used (faster and handles caseless
 *   backreferences). Otherwise letters are expanded (`a` → `[Aa]`); a caseless backreference then
 *   cannot be expressed and the pattern is refused.
 * - `^`/`$` under multiline become `(?:^|(?<=\n)(?!$))` / `(?=\n|$)`; without it `$` and `\Z` become
 *   `(?=\n?$)`; `\A` → `^`, `\z` → `$`, `\G` → `^` (matching always starts at offset 0). Because
 *   these lookarounds only matter when the value holds a `\n`, a second, simpler RegExp with plain
 *   `^`/`$` is emitted and used for values without one.
 * - Atomic groups `(?>X)` and possessive quantifiers `X*+` become `(?=(X))\k` (a lookahead is atomic
 *   in JS); the helper group is numbered after the pattern's own groups are mapped, so captures keep
 *   PCRE's numbering. Named groups become numbered groups; `\g{n}`, `\g{-n}`, `\k<name>`,
 *   `(?P=name)` become numbered backreferences.
 * - Escapes: `\xhh`, `\x{hhh}` (≤ 0xFF), octal `\0oo` / `\o{…}` / `\ddd` when not a backreference,
 *   `\cX`, `\a \e \f \n \r \t`, `\Q…\E`, comments `(?#…)`, extended-mode whitespace and comments.
 * - Patterns PCRE2 10.42 refuses are refused too (ModSecurity 3.0.9 would load the rule and never
 *   match it; we report it instead): unbalanced groups, `[\d-z]`, variable-length lookbehind,
 *   stacked quantifiers `x{2}{3}`, references to missing groups, unknown letter escapes.
 * - Refused because JS cannot express them (none is used by CRS 3.3.4): recursion and subroutine
 *   calls, conditionals, branch reset `(?|`, backtracking verbs `(*…)`, `\K`, `\p{…}`, `\X`, `\C`,
 *   callouts, quantified lookarounds, a caseless backreference in a pattern that is not caseless
 *   throughout.
 *
 * Known gaps: PCRE's match limit (10,000,000 backtracking steps by default in 3.0.9, after which the
 * rule silently does not match) has no JS counterpart, so a pathological value runs to completion
 * (see rx-redos.bench.ts; the engine bounds value sizes); a backreference to a group that has not
 * participated fails in PCRE and matches empty in JS; under the JS `i` flag a caseless
 * backreference also folds Latin-1 letters (é = É), which PCRE does not.
 */

/** A set of byte values 0-255. */
type ByteSet = Uint8Array;

type Node =
  | { readonly t: 'seq'; readonly items: Node[] }
  | { readonly t: 'alt'; readonly alts: Node[] }
  | { readonly t: 'set'; readonly set: ByteSet; readonly caseless: boolean }
  | { readonly t: 'any'; readonly dotall: boolean }
  | { readonly t: 'bol'; readonly multiline: boolean }
  | { readonly t: 'eol'; readonly multiline: boolean }
  | { readonly t: 'assert'; readonly kind: 'A' | 'z' | 'Z' | 'b' | 'B' }
  | { readonly t: 'group'; readonly kind: GroupKind; readonly index: number; readonly body: Node }
  | {
      readonly t: 'quant';
      readonly body: Node;
      readonly min: number;
      readonly max: number;
      readonly mode: QMode;
    }
  | { readonly t: 'backref'; readonly ref: number | string; readonly caseless: boolean };

type GroupKind = 'capture' | 'plain' | 'ahead' | 'nahead' | 'behind' | 'nbehind' | 'atomic';
type QMode = 'greedy' | 'lazy' | 'possessive';

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  U: boolean;
  n: boolean;
}

/** A pattern PCRE would refuse, or one this translator cannot express in JavaScript. */
export class PcreTranslateError extends Error {
  constructor(message: string, pattern: string, at: number) {
    super(`${message} at offset ${at} of /${pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern}/`);
    this.name = 'PcreTranslateError';
  }
}

/** The result of a translation: JS sources and how to read PCRE's groups out of a JS match. */
export interface Translation {
  /** Source for values that may contain `\n`. */
  readonly source: string;
  /** Source for values without `\n`, or undefined when it would equal `source`. */
  readonly simpleSource: string | undefined;
  readonly flags: string;
  /** `groupIndex[k]` is the JS group that holds PCRE group k (k = 0 is the whole match). */
  readonly groupIndex: readonly number[];
}

function emptySet(): ByteSet {
  return new Uint8Array(256);
}
function rangeSet(ranges: ReadonlyArray<readonly [number, number]>, negate = false): ByteSet {
  const s = emptySet();
  for (const [a, b] of ranges) s.fill(1, a, b + 1);
  if (negate) for (let c = 0; c < 256; c++) s[c] = s[c] ? 0 : 1;
  return s;
}
function union(into: ByteSet, from: ByteSet): void {
  for (let c = 0; c < 256; c++) if (from[c]) into[c] = 1;
}

/** PCRE's character types in non-UTF mode with the default "C" tables. */
const CLASS_ESCAPES: Readonly<Record<string, ByteSet>> = {
  d: rangeSet([[0x30, 0x39]]),
  D: rangeSet([[0x30, 0x39]], true),
  w: rangeSet([
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ]),
  W: rangeSet(
    [
      [0x30, 0x39],
      [0x41, 0x5a],
      [0x5f, 0x5f],
      [0x61, 0x7a],
    ],
    true,
  ),
  s: rangeSet([
    [0x09, 0x0d],
    [0x20, 0x20],
  ]),
  S: rangeSet(
    [
      [0x09, 0x0d],
      [0x20, 0x20],
    ],
    true,
  ),
  h: rangeSet([
    [0x09, 0x09],
    [0x20, 0x20],
    [0xa0, 0xa0],
  ]),
  H: rangeSet(
    [
      [0x09, 0x09],
      [0x20, 0x20],
      [0xa0, 0xa0],
    ],
    true,
  ),
  v: rangeSet([
    [0x0a, 0x0d],
    [0x85, 0x85],
  ]),
  V: rangeSet(
    [
      [0x0a, 0x0d],
      [0x85, 0x85],
    ],
    true,
  ),
};

const POSIX: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  e: 0x1b,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
};

/** The other ASCII case of a byte, or the byte itself. */
function asciiOther(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c + 0x20;
  if (c >= 0x61 && c <= 0x7a) return c - 0x20;
  return c;
}

/** Adds the ASCII case partners of every letter in the set (PCRE non-UTF caseless matching). */
function caseClose(set: ByteSet): ByteSet {
  const out = set.slice();
  for (let c = 0; c < 256; c++) if (set[c]) out[asciiOther(c)] = 1;
  return out;
}

/** JS's `Canonicalize` for non-unicode `i` regexps, restricted to the byte range. */
const JS_CANON: readonly number[] = Array.from({ length: 256 }, (_, c) => {
  const up = String.fromCharCode(c).toUpperCase();
  if (up.length !== 1) return c;
  const u = up.charCodeAt(0);
  return c >= 128 && u < 128 ? c : u;
});

/** Whether JS's `i` flag would match exactly this set (it matches every byte with the same canon). */
function closedUnderJsCase(set: ByteSet): boolean {
  for (let c = 0; c < 256; c++) {
    if (!set[c]) continue;
    for (let d = 0; d < 256; d++) if (!set[d] && JS_CANON[d] === JS_CANON[c]) return false;
  }
  return true;
}

/** Whether case-insensitivity would change what this set matches. */
function caseMatters(set: ByteSet): boolean {
  for (let c = 0; c < 256; c++) if (set[c] && !set[asciiOther(c)]) return true;
  return false;
}

class Parser {
  private pos = 0;
  private groupCount = 0;
  readonly names = new Map<string, number>();
  private readonly totalGroups: number;

  constructor(private readonly src: string) {
    this.totalGroups = countGroups(src);
  }

  fail(message: string, at = this.pos): never {
    throw new PcreTranslateError(message, this.src, at);
  }

  parse(): Node {
    const flags: Flags = { i: false, m: true, s: true, x: false, U: false, n: false };
    if (this.src.startsWith('(*'))
      this.fail('backtracking verbs and start-of-pattern options are not supported');
    const node = this.alternation(flags);
    if (this.pos < this.src.length) this.fail('unmatched )');
    return node;
  }

  private alternation(flags: Flags): Node {
    const alts: Node[] = [this.sequence(flags)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence(flags));
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private sequence(flags: Flags): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipExtended(flags);
      const c = this.src[this.pos];
      if (c === undefined || c === '|' || c === ')') break;
      const atom = this.atom(flags, items);
      if (atom === undefined) continue;
      items.push(this.quantifier(atom, flags));
    }
    return { t: 'seq', items };
  }

  private skipExtended(flags: Flags): void {
    if (!flags.x) return;
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r') this.pos++;
      else if (c === '#') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private quantifier(atom: Node, flags: Flags): Node {
    let node = atom;
    for (;;) {
      this.skipExtended(flags);
      const start = this.pos;
      const c = this.src[this.pos];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
      else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos));
        if (m === null) return node;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
        if (min > 65535 || (Number.isFinite(max) && max > 65535) || min > max)
          this.fail('number too big or out of order in {} quantifier');
        this.pos += m[0].length - 1;
      } else return node;
      this.pos++;
      let mode: QMode = flags.U ? 'lazy' : 'greedy';
      if (this.src[this.pos] === '?') {
        mode = flags.U ? 'greedy' : 'lazy';
        this.pos++;
      } else if (this.src[this.pos] === '+') {
        mode = 'possessive';
        this.pos++;
      }
      if (node.t === 'bol' || node.t === 'eol' || node.t === 'assert')
        this.fail('quantifier follows an assertion', start);
      if (node.t === 'group' && node.kind !== 'capture' && node.kind !== 'plain' && node.kind !== 'atomic') {
        this.fail('quantified lookaround is not supported', start);
      }
      if (node.t === 'quant') this.fail('quantifier does not follow a repeatable item', start);
      node = { t: 'quant', body: node, min, max, mode };
    }
  }

  private literal(code: number, flags: Flags): Node {
    const set = emptySet();
    set[code] = 1;
    return { t: 'set', set, caseless: flags.i };
  }

  private atom(flags: Flags, items: Node[]): Node | undefined {
    const c = this.src[this.pos]!;
    switch (c) {
      case '(':
        return this.group(flags);
      case '[':
        return this.charClass(flags);
      case '.':
        this.pos++;
        return { t: 'any', dotall: flags.s };
      case '^':
        this.pos++;
        return { t: 'bol', multiline: flags.m };
      case '$':
        this.pos++;
        return { t: 'eol', multiline: flags.m };
      case '\\':
        return this.escape(flags, items);
      case '*':
      case '+':
      case '?':
        return this.fail('quantifier does not follow a repeatable item');
      case '{':
        if (/^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos)))
          this.fail('quantifier does not follow a repeatable item');
        this.pos++;
        return this.literal(0x7b, flags);
      default:
        this.pos++;
        return this.literal(c.charCodeAt(0) & 0xff, flags);
    }
  }

  private escape(flags: Flags, items: Node[]): Node | undefined {
    const start = this.pos;
    const e = this.src[this.pos + 1];
    if (e === undefined) this.fail('\\ at end of pattern');
    this.pos += 2;
    switch (e) {
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
        return { t: 'assert', kind: e };
      case 'G':
        return { t: 'assert', kind: 'A' };
      case 'N':
        return { t: 'set', set: rangeSet([[0x0a, 0x0a]], true), caseless: false };
      case 'R':
        // (?>\r\n|[\n\v\f\r\x85]) — atomic, as PCRE treats \R.
        return {
          t: 'group',
          kind: 'atomic',
          index: 0,
          body: {
            t: 'alt',
            alts: [
              {
                t: 'seq',
                items: [
                  this.literal(0x0d, { ...flags, i: false }),
                  this.literal(0x0a, { ...flags, i: false }),
                ],
              },
              { t: 'set', set: CLASS_ESCAPES.v!, caseless: false },
            ],
          },
        };
      case 'Q': {
        const end = this.src.indexOf('\\E', this.pos);
        const text = end === -1 ? this.src.slice(this.pos) : this.src.slice(this.pos, end);
        this.pos = end === -1 ? this.src.length : end + 2;
        for (let k = 0; k < text.length - 1; k++) items.push(this.literal(text.charCodeAt(k) & 0xff, flags));
        return text.length > 0 ? this.literal(text.charCodeAt(text.length - 1) & 0xff, flags) : undefined;
      }
      case 'E':
        return undefined;
      case 'g':
      case 'k':
        return this.namedBackref(e, flags, start);
      default:
        break;
    }
    const cls = CLASS_ESCAPES[e];
    if (cls !== undefined) return { t: 'set', set: cls, caseless: false };
    if (e >= '1' && e <= '9') {
      const digits = /^\d+/.exec(this.src.slice(start + 1))![0];
      const n = Number(digits);
      if (n < 10 || e === '8' || e === '9' || n <= this.totalGroups) {
        this.pos = start + 1 + digits.length;
        return { t: 'backref', ref: n, caseless: flags.i };
      }
      this.pos = start + 1;
      return this.literal(this.octal(3), flags);
    }
    this.pos = start;
    return this.literal(this.charEscape(), flags);
  }

  private namedBackref(e: string, flags: Flags, start: number): Node {
    const rest = this.src.slice(this.pos);
    let m = /^\{(-?\d+)\}|^(-?\d+)/.exec(rest);
    if (e === 'g' && m !== null) {
      this.pos += m[0].length;
      let n = Number(m[1] ?? m[2]);
      if (n < 0) n = this.groupCount + 1 + n;
      if (n <= 0) this.fail('invalid relative backreference', start);
      return { t: 'backref', ref: n, caseless: flags.i };
    }
    m = /^\{([A-Za-z_]\w*)\}|^<([A-Za-z_]\w*)>|^'([A-Za-z_]\w*)'/.exec(rest);
    if (m === null) this.fail(`\\${e} is not followed by a group reference`, start);
    this.pos += m[0].length;
    return { t: 'backref', ref: m[1] ?? m[2] ?? m[3]!, caseless: flags.i };
  }

  /** Reads up to `max` octal digits at the current position. */
  private octal(max: number): number {
    let v = 0;
    let k = 0;
    while (k < max && /[0-7]/.test(this.src[this.pos] ?? '')) {
      v = v * 8 + Number(this.src[this.pos]);
      this.pos++;
      k++;
    }
    if (v > 0xff) this.fail('octal value is greater than \\377 in 8-bit non-UTF mode');
    return v;
  }

  /** A single-byte escape at `\`: returns its byte and advances. Class escapes are handled by callers. */
  private charEscape(): number {
    const start = this.pos;
    const e = this.src[this.pos + 1]!;
    this.pos += 2;
    if (SIMPLE_ESCAPES[e] !== undefined) return SIMPLE_ESCAPES[e];
    if (e === '0') return this.octal(2);
    if (e === 'o') {
      const m = /^\{([0-7]+)\}/.exec(this.src.slice(this.pos));
      if (m === null) this.fail('\\o is not followed by {octal digits}', start);
      this.pos += m[0].length;
      const v = Number.parseInt(m[1]!, 8);
      if (v > 0xff) this.fail('character code point value in \\o{} is too large', start);
      return v;
    }
    if (e === 'x') {
      const braced = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos));
      if (braced !== null) {
        this.pos += braced[0].length;
        const v = Number.parseInt(braced[1]!, 16);
        if (v > 0xff) this.fail('character code point value in \\x{} is too large', start);
        return v;
      }
      const m = /^[0-9A-Fa-f]{0,2}/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      return m[0] === '' ? 0 : Number.parseInt(m[0], 16);
    }
    if (e === 'c') {
      const x = this.src[this.pos];
      if (x === undefined || x.charCodeAt(0) > 0x7e)
        this.fail('\\c must be followed by a printable ASCII character', start);
      this.pos++;
      return (x.toUpperCase().charCodeAt(0) ^ 0x40) & 0xff;
    }
    if (/[A-Za-z0-9]/.test(e)) this.fail(`unrecognized or unsupported escape \\${e}`, start);
    return e.charCodeAt(0) & 0xff;
  }

  private charClass(flags: Flags): Node {
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (this.src[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    const set = emptySet();
    let first = true;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) this.fail('missing terminating ] for character class', start);
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
        if (m !== null) {
          const ranges = POSIX[m[2]!];
          if (ranges === undefined) this.fail(`unknown POSIX class name ${m[2]}`);
          union(set, rangeSet(ranges, m[1] === '^'));
          this.pos += m[0].length;
          continue;
        }
        if (/^\[([.=])[^\]]*\1\]/.test(this.src.slice(this.pos)))
          this.fail('POSIX collating elements are not supported');
      }
      if (c === '\\' && this.src[this.pos + 1] === 'Q') {
        const end = this.src.indexOf('\\E', this.pos + 2);
        const text = end === -1 ? this.src.slice(this.pos + 2) : this.src.slice(this.pos + 2, end);
        for (let k = 0; k < text.length; k++) set[text.charCodeAt(k) & 0xff] = 1;
        this.pos = end === -1 ? this.src.length : end + 2;
        continue;
      }
      if (c === '\\' && this.src[this.pos + 1] === 'E') {
        this.pos += 2;
        continue;
      }
      const lo = this.classAtom(set);
      if (lo === undefined) {
        // `[\d-z]`: PCRE2 refuses a range that starts with a class ("invalid range in character class").
        if (
          this.src[this.pos] === '-' &&
          this.src[this.pos + 1] !== ']' &&
          this.src[this.pos + 1] !== undefined
        ) {
          this.fail('invalid range in character class');
        }
        continue;
      }
      // A range needs a `-` followed by something other than `]`.
      if (
        this.src[this.pos] === '-' &&
        this.src[this.pos + 1] !== ']' &&
        this.src[this.pos + 1] !== undefined
      ) {
        const save = this.pos;
        this.pos++;
        const probe = emptySet();
        const hi = this.classAtom(probe);
        if (hi === undefined) {
          // `[a-\d]`: PCRE2 refuses this ("invalid range in character class").
          this.fail('invalid range in character class', save);
        }
        if (hi < lo) this.fail('range out of order in character class', save);
        set.fill(1, lo, hi + 1);
        continue;
      }
      set[lo] = 1;
    }
    let result = set;
    if (flags.i) result = caseClose(result);
    if (negate) result = result.map((v) => (v ? 0 : 1));
    return { t: 'set', set: result, caseless: false };
  }

  /** One class member: returns its byte, or undefined after adding a class escape to `set`. */
  private classAtom(set: ByteSet): number | undefined {
    const c = this.src[this.pos]!;
    if (c !== '\\') {
      this.pos++;
      return c.charCodeAt(0) & 0xff;
    }
    const e = this.src[this.pos + 1];
    if (e === undefined) this.fail('\\ at end of pattern');
    const cls = CLASS_ESCAPES[e];
    if (cls !== undefined) {
      union(set, cls);
      this.pos += 2;
      return undefined;
    }
    if (e === 'b') {
      this.pos += 2;
      return 8;
    }
    if (e === 'N' || e === 'R' || e === 'X' || e === 'B')
      this.fail(`\\${e} is not allowed in a character class`);
    if (e >= '1' && e <= '7') {
      this.pos++;
      return this.octal(3);
    }
    return this.charEscape();
  }

  private group(flags: Flags): Node | undefined {
    const start = this.pos;
    this.pos++;
    const rest = this.src.slice(this.pos);
    let kind: GroupKind = 'capture';
    let name: string | undefined;
    const inner: Flags = { ...flags };
    if (rest.startsWith('*')) this.fail('backtracking verbs are not supported', start);
    if (rest.startsWith('?')) {
      const m2 = rest.slice(1);
      if (m2.startsWith('#')) {
        const end = this.src.indexOf(')', this.pos);
        if (end === -1) this.fail('missing ) after (?# comment', start);
        this.pos = end + 1;
        return undefined;
      }
      const simple: Record<string, GroupKind> = {
        ':': 'plain',
        '=': 'ahead',
        '!': 'nahead',
        '<=': 'behind',
        '<!': 'nbehind',
        '>': 'atomic',
      };
      const named = /^(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(m2);
      const backref = /^P=([A-Za-z_]\w*)\)/.exec(m2);
      const opts = /^([imsxnUJ]*)(?:-([imsxnUJ]*))?([:)])/.exec(m2);
      const key = ['<=', '<!'].find((k) => m2.startsWith(k)) ?? (simple[m2[0] ?? ''] ? m2[0] : undefined);
      if (key !== undefined && simple[key] !== undefined) {
        kind = simple[key];
        this.pos += 1 + key.length;
      } else if (named !== null) {
        name = named[1] ?? named[2]!;
        this.pos += 1 + named[0].length;
      } else if (backref !== null) {
        this.pos += 1 + backref[0].length;
        return { t: 'backref', ref: backref[1]!, caseless: flags.i };
      } else if (opts !== null && !(opts[1] === '' && opts[2] === undefined && opts[3] === ':')) {
        const apply = (letters: string, on: boolean, target: Flags): void => {
          for (const l of letters) {
            if (l === 'J') continue;
            target[l as keyof Flags] = on;
          }
        };
        this.pos += 1 + opts[0].length;
        if (opts[3] === ')') {
          // `(?i)`: changes the options of the rest of the enclosing group (all later branches too).
          apply(opts[1]!, true, flags);
          apply(opts[2] ?? '', false, flags);
          return undefined;
        }
        apply(opts[1]!, true, inner);
        apply(opts[2] ?? '', false, inner);
        kind = 'plain';
      } else {
        this.fail('unsupported group syntax (recursion, conditional, branch reset or callout)', start);
      }
    } else if (flags.n) {
      kind = 'plain';
    }
    let index = 0;
    if (kind === 'capture') {
      index = ++this.groupCount;
      if (name !== undefined) {
        if (this.names.has(name)) this.fail(`two named subpatterns have the same name ${name}`, start);
        this.names.set(name, index);
      }
    }
    const body = this.alternation(inner);
    if (this.src[this.pos] !== ')') this.fail('missing closing parenthesis', start);
    this.pos++;
    if (kind === 'behind' || kind === 'nbehind') {
      // PCRE2 10.42 needs every top-level branch of a lookbehind to have a fixed length.
      for (const branch of body.t === 'alt' ? body.alts : [body]) {
        if (fixedLength(branch) === undefined) this.fail('lookbehind assertion is not fixed length', start);
      }
    }
    return { t: 'group', kind, index, body };
  }
}

/** The number of bytes a subtree always matches, or undefined when it varies (PCRE's rule). */
function fixedLength(node: Node): number | undefined {
  switch (node.t) {
    case 'set':
    case 'any':
      return 1;
    case 'bol':
    case 'eol':
    case 'assert':
      return 0;
    case 'seq': {
      let total = 0;
      for (const n of node.items) {
        const l = fixedLength(n);
        if (l === undefined) return undefined;
        total += l;
      }
      return total;
    }
    case 'alt': {
      const first = fixedLength(node.alts[0]!);
      return node.alts.every((a) => fixedLength(a) === first) ? first : undefined;
    }
    case 'group':
      return node.kind === 'capture' || node.kind === 'plain' || node.kind === 'atomic'
        ? fixedLength(node.body)
        : 0;
    case 'quant': {
      const l = fixedLength(node.body);
      return l !== undefined && node.min === node.max ? l * node.min : undefined;
    }
    case 'backref':
      return undefined;
  }
}

/** Counts capturing groups ahead of parsing, to tell `\10` (a backreference?) from an octal escape. */
function countGroups(src: string): number {
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      if (src[i + 1] === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        i = end === -1 ? src.length : end + 1;
      } else i++;
    } else if (c === '[') {
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') {
        if (src[i] === '\\') i++;
        else if (src[i] === '[' && src[i + 1] === ':') {
          const end = src.indexOf(':]', i + 2);
          if (end !== -1) i = end + 1;
        }
        i++;
      }
    } else if (c === '(') {
      if (src[i + 1] !== '?' && src[i + 1] !== '*') n++;
      else if (/^\(\?(?:P?<[A-Za-z_]|')/.test(src.slice(i, i + 5))) n++;
    }
  }
  return n;
}

function hex2(c: number): string {
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

/** One byte inside or outside a JS class, escaped so that nothing is special. */
function emitByte(c: number): string {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) {
    return String.fromCharCode(c);
  }
  return hex2(c);
}

/** A set as JS source: a single byte, `[^]`, or a class of ranges (negated when shorter). */
function emitSet(set: ByteSet): string {
  let count = 0;
  for (let c = 0; c < 256; c++) count += set[c]!;
  if (count === 256) return '[^]';
  if (count === 1) return emitByte(set.indexOf(1));
  if (count === 0) return '[]';
  const negate = count > 128;
  const ranges: string[] = [];
  for (let c = 0; c < 256; ) {
    if ((set[c] === 1) === negate) {
      c++;
      continue;
    }
    let d = c;
    while (d + 1 < 256 && (set[d + 1] === 1) !== negate) d++;
    ranges.push(
      d === c ? emitByte(c) : d === c + 1 ? emitByte(c) + emitByte(d) : `${emitByte(c)}-${emitByte(d)}`,
    );
    c = d + 1;
  }
  // A negated JS class also matches chars above 0xFF; values are bytes, so that never happens.
  return `[${negate ? '^' : ''}${ranges.join('')}]`;
}

interface EmitState {
  /** Use the JS `i` flag instead of expanding caseless sets. */
  readonly ignoreCase: boolean;
  /** Emit for values that hold no `\n`. */
  readonly noNewline: boolean;
  readonly groupIndex: number[];
  readonly names: ReadonlyMap<string, number>;
}

/** Walks the tree in emission order to give every PCRE group and helper its JS number. */
function numberGroups(
  node: Node,
  state: { next: number; groupIndex: number[]; helpers: Map<Node, number> },
): void {
  switch (node.t) {
    case 'seq':
      for (const n of node.items) numberGroups(n, state);
      return;
    case 'alt':
      for (const n of node.alts) numberGroups(n, state);
      return;
    case 'group':
      if (node.kind === 'atomic') state.helpers.set(node, state.next++);
      if (node.kind === 'capture') state.groupIndex[node.index] = state.next++;
      numberGroups(node.body, state);
      return;
    case 'quant':
      if (node.mode === 'possessive') state.helpers.set(node, state.next++);
      numberGroups(node.body, state);
      return;
    default:
      return;
  }
}

function emit(node: Node, st: EmitState & { helpers: Map<Node, number> }): string {
  switch (node.t) {
    case 'seq':
      return node.items.map((n) => emit(n, st)).join('');
    case 'alt':
      return node.alts.map((n) => emit(n, st)).join('|');
    case 'set': {
      const set = node.caseless && !st.ignoreCase ? caseClose(node.set) : node.set;
      return emitSet(set);
    }
    case 'any':
      return node.dotall ? '[^]' : '[^\\n]';
    case 'bol':
      return node.multiline && !st.noNewline ? '(?:^|(?<=\\n)(?!$))' : '^';
    case 'eol':
      if (st.noNewline) return '$';
      return node.multiline ? '(?=\\n|$)' : '(?=\\n?$)';
    case 'assert':
      switch (node.kind) {
        case 'A':
          return '^';
        case 'z':
          return '$';
        case 'Z':
          return st.noNewline ? '$' : '(?=\\n?$)';
        case 'b':
          return '\\b';
        case 'B':
          return '\\B';
      }
      return '';
    case 'group': {
      const body = emit(node.body, st);
      switch (node.kind) {
        case 'capture':
          return `(${body})`;
        case 'plain':
          return `(?:${body})`;
        case 'ahead':
          return `(?=${body})`;
        case 'nahead':
          return `(?!${body})`;
        case 'behind':
          return `(?<=${body})`;
        case 'nbehind':
          return `(?<!${body})`;
        case 'atomic': {
          const h = st.helpers.get(node)!;
          return `(?:(?=(${body}))\\${h})`;
        }
      }
      return body;
    }
    case 'quant': {
      const body = emit(node.body, st);
      const needsGroup = !(node.body.t === 'set' || node.body.t === 'any' || node.body.t === 'group');
      const atom = needsGroup ? `(?:${body})` : body;
      const q =
        node.min === 0 && node.max === Number.POSITIVE_INFINITY
          ? '*'
          : node.min === 1 && node.max === Number.POSITIVE_INFINITY
            ? '+'
            : node.min === 0 && node.max === 1
              ? '?'
              : node.max === Number.POSITIVE_INFINITY
                ? `{${node.min},}`
                : node.min === node.max
                  ? `{${node.min}}`
                  : `{${node.min},${node.max}}`;
      if (node.mode === 'possessive') {
        const h = st.helpers.get(node)!;
        return `(?:(?=(${atom}${q}))\\${h})`;
      }
      return `${atom}${q}${node.mode === 'lazy' ? '?' : ''}`;
    }
    case 'backref': {
      const n = typeof node.ref === 'number' ? node.ref : st.names.get(node.ref);
      if (n === undefined) throw new Error(`reference to non-existent subpattern ${String(node.ref)}`);
      const js = st.groupIndex[n];
      if (js === undefined) throw new Error(`reference to non-existent subpattern ${n}`);
      // `(?:)` keeps a following digit from extending the group number.
      return `\\${js}(?:)`;
    }
  }
}

/** Facts gathered over the tree that decide how it can be emitted. */
interface Survey {
  /** Some set is matched case-sensitively and contains a letter without its other case. */
  caseSensitiveLetters: boolean;
  /** Some caseless set would fold differently under JS's `i` (Latin-1 letters). */
  latin1Folding: boolean;
  caselessBackref: boolean;
  caseSensitiveBackref: boolean;
  /** Whether the tree has anchors whose meaning depends on newlines. */
  newlineAnchors: boolean;
}

function survey(node: Node, s: Survey): void {
  switch (node.t) {
    case 'seq':
      for (const n of node.items) survey(n, s);
      return;
    case 'alt':
      for (const n of node.alts) survey(n, s);
      return;
    case 'group':
    case 'quant':
      survey(node.body, s);
      return;
    case 'set':
      if (node.caseless) {
        if (!closedUnderJsCase(caseClose(node.set))) s.latin1Folding = true;
      } else {
        if (caseMatters(node.set)) s.caseSensitiveLetters = true;
        if (!closedUnderJsCase(node.set)) s.latin1Folding = true;
      }
      return;
    case 'backref':
      if (node.caseless) s.caselessBackref = true;
      else s.caseSensitiveBackref = true;
      return;
    case 'bol':
      if (node.multiline) s.newlineAnchors = true;
      return;
    case 'eol':
      s.newlineAnchors = true;
      return;
    case 'assert':
      if (node.kind === 'Z') s.newlineAnchors = true;
      return;
    default:
      return;
  }
}

/** How to translate. */
export interface TranslateOptions {
  /**
   * Never use the JS `i` flag; expand caseless letters instead (`a` → `[Aa]`). V8's linear-time
   * engine (see `enableLinearRegExpFallback`) cannot run `i` regexps, so this lets more patterns fall
   * back to it. Patterns with a caseless backreference still use the flag.
   * @default false
   */
  readonly expandCase?: boolean;
}

/** Translates a PCRE pattern (ModSecurity's options) to JS; throws PcreTranslateError. */
export function translatePcre(pattern: string, options: TranslateOptions = {}): Translation {
  const parser = new Parser(pattern);
  const tree = parser.parse();
  const s: Survey = {
    caseSensitiveLetters: false,
    latin1Folding: false,
    caselessBackref: false,
    caseSensitiveBackref: false,
    newlineAnchors: false,
  };
  survey(tree, s);
  const canIgnoreCase = !s.caseSensitiveLetters && !s.latin1Folding && !s.caseSensitiveBackref;
  // A caseless backreference needs the i flag (and rules out the linear engine anyway).
  const ignoreCase = canIgnoreCase && (options.expandCase !== true || s.caselessBackref);
  if (!ignoreCase && s.caselessBackref) {
    throw new PcreTranslateError(
      'a caseless backreference in a pattern that is not caseless throughout cannot be translated',
      pattern,
      0,
    );
  }
  const numbering = { next: 1, groupIndex: [0], helpers: new Map<Node, number>() };
  numberGroups(tree, numbering);
  const base = {
    ignoreCase,
    groupIndex: numbering.groupIndex,
    names: parser.names,
    helper: 0,
    helpers: numbering.helpers,
  };
  let source: string;
  let simpleSource: string | undefined;
  try {
    source = emit(tree, { ...base, noNewline: false });
    simpleSource = s.newlineAnchors ? emit(tree, { ...base, noNewline: true }) : undefined;
  } catch (e) {
    throw new PcreTranslateError(e instanceof Error ? e.message : String(e), pattern, 0);
  }
  return { source, simpleSource, flags: ignoreCase ? 'i' : '', groupIndex: numbering.groupIndex };
}
