/**
 * `@pm` and `@pmFromFile`: case-insensitive phrase matching with an Aho–Corasick automaton built the
 * way libmodsecurity's `acmp` builds it, quirks included, because CRS verdicts depend on them:
 *
 * - Only ASCII letters fold case. A phrase byte 0xFF never matches: acmp reads phrase bytes as
 *   signed chars and `tolower((char)0xFF)` is EOF (-1), while input bytes are read unsigned.
 * - A failure link is looked up only one level deep (in the parent's failure node's children, else
 *   the root), so a phrase that would be found through a longer failure chain can be missed.
 * - The first phrase found ends the scan.
 * - The captured text (TX.0) is the text of the automaton node where the scan stopped: the phrase as
 *   first written in the list, or — when the hit came through a failure link — the longer prefix
 *   that was being followed.
 */
import type { CompiledOperator, OperatorResult } from '../types.ts';
import { OperatorParamError } from './errors.ts';
import { readDataFile } from './ip.ts';
import { NO_MATCH } from './macro.ts';

interface AcNode {
  readonly next: Map<number, AcNode>;
  fail: AcNode | undefined;
  /** A phrase ends here. */
  last: boolean;
  /** The nearest node on the failure chain (root excluded) where a phrase ends. */
  outputLink: AcNode | undefined;
  /** The bytes leading to this node, as written in the first phrase that created it. */
  readonly text: string;
}

function node(text: string): AcNode {
  return { next: new Map(), fail: undefined, last: false, outputLink: undefined, text };
}

/** C-locale `tolower` of a byte: ASCII letters only. */
function fold(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** A compiled phrase list; `search` answers like `acmp_process_quick` + `Pm::evaluate`. */
export class PhraseMatcher {
  private readonly root = node('');
  /** Number of distinct phrases. */
  size = 0;

  /**
   * The root's children by input byte: on ordinary text the scan is at the root for most bytes, and
   * an array read there is cheaper than the map every other node uses.
   */
  private readonly rootNext: (AcNode | undefined)[] = new Array(256).fill(undefined);

  constructor(phrases: Iterable<string>) {
    for (const p of phrases) this.add(p);
    this.link();
    for (let b = 0; b < 256; b++) this.rootNext[b] = this.root.next.get(b);
  }

  private add(phrase: string): void {
    let at = this.root;
    for (let i = 0; i < phrase.length; i++) {
      const byte = phrase.charCodeAt(i) & 0xff;
      const letter = byte === 0xff ? -1 : fold(byte);
      let child = at.next.get(letter);
      if (child === undefined) {
        child = node(phrase.slice(0, i + 1));
        at.next.set(letter, child);
      }
      at = child;
    }
    if (phrase.length > 0 && !at.last) {
      at.last = true;
      this.size++;
    }
  }

  private link(): void {
    const root = this.root;
    root.fail = root;
    let level: Array<[AcNode, number, AcNode]> = [];
    for (const [letter, child] of root.next) level.push([child, letter, root]);
    while (level.length > 0) {
      const following: Array<[AcNode, number, AcNode]> = [];
      for (const [n, letter, parent] of level) {
        n.fail = parent === root ? root : (parent.fail!.next.get(letter) ?? root);
        for (const [l, child] of n.next) following.push([child, l, n]);
      }
      level = following;
    }
    const stack = [...root.next.values()];
    while (stack.length > 0) {
      const n = stack.pop()!;
      for (let o = n.fail; o !== undefined && o !== root; o = o.fail) {
        if (o.last) {
          n.outputLink = o;
          break;
        }
      }
      stack.push(...n.next.values());
    }
  }

  /** The captured text of the first hit, or undefined when `@pm` would not match. */
  search(value: string): string | undefined {
    const root = this.root;
    let at = root;
    for (let offset = 0; offset < value.length; offset++) {
      const letter = fold(value.charCodeAt(offset) & 0xff);
      let to: AcNode | undefined;
      for (;;) {
        to = at === root ? this.rootNext[letter] : at.next.get(letter);
        if (to?.last) return to.text;
        if (at === root || to !== undefined) break;
        at = at.fail!;
      }
      if (to !== undefined) at = to;
      if (at.outputLink !== undefined) return at.text;
    }
    return undefined;
  }
}

const C_SPACE = /[ \t\n\v\f\r]+/;

/**
 * Reads an `@pm` parameter the way `parse_pm_content` does: optional surrounding double quotes,
 * `|hex|` byte sequences and `\` escapes of `:;\"`, then whitespace-separated phrases. Its quirks are
 * kept: in `|…|` only the letters A-F/a-f count as hex digits (digits are dropped), the unescaped
 * result keeps the unconsumed tail of the original text, and an unsupported escape makes ModSecurity
 * fall back to the raw parameter.
 */
export function pmPhrases(param: string): string[] {
  const processed = parsePmContent(param) ?? param;
  return processed.split(C_SPACE).filter((p) => p !== '');
}

function parsePmContent(param: string): string | undefined {
  const cut = param.indexOf('\0');
  const content = cut === -1 ? param : param.slice(0, cut);
  let offset = 0;
  while (offset < content.length && (content[offset] === ' ' || content[offset] === '\t')) offset++;
  const quoted = content[offset] === '"' && content[content.length - 1] === '"';
  const parm = quoted
    ? content.slice(offset + 1, Math.max(offset + 1, content.length - 1))
    : content.slice(offset);
  if (parm.length === 0) return undefined;
  const out = parm.split('');
  let x = 0;
  let bin = false;
  let esc = false;
  let hex = '';
  for (let i = 0; i < parm.length; i++) {
    const ch = parm[i]!;
    if (ch === '|') {
      bin = !bin;
    } else if (!esc && ch === '\\') {
      esc = true;
    } else if (bin) {
      if (/[A-Fa-f]/.test(ch)) {
        hex += ch;
        if (hex.length === 2) {
          out[x++] = String.fromCharCode(Number.parseInt(hex, 16));
          hex = '';
        }
      }
    } else if (esc) {
      if (!':;\\"'.includes(ch)) return undefined;
      out[x++] = ch;
      esc = false;
    } else {
      out[x++] = ch;
    }
  }
  const result = out.join('');
  const nul = result.indexOf('\0');
  return nul === -1 ? result : result.slice(0, nul);
}

/** The phrases of a `@pmFromFile` file: every line but empty ones and `#` comments, kept verbatim. */
export function filePhrases(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.filter((line) => line !== '' && !/^[ \t\n\v\f\r]*#/.test(line));
}

function phraseOperator(name: string, matcher: PhraseMatcher): CompiledOperator {
  return {
    name,
    dynamic: false,
    run(value): OperatorResult {
      const hit = matcher.search(value);
      return hit === undefined ? NO_MATCH : { matched: true, captures: [hit] };
    },
  };
}

/** `@pm phrase phrase …` (the parameter is not macro-expanded, as in ModSecurity). */
export function pm(param: string): CompiledOperator {
  return phraseOperator('pm', new PhraseMatcher(pmPhrases(param)));
}

/** `@pmFromFile file` (alias `@pmf`): the file is relative to the rule's file. */
export function pmFromFile(name: string, param: string, baseDir: string): CompiledOperator {
  if (/^https?:\/\//i.test(param))
    throw new OperatorParamError('remote lists are not supported; use a local file');
  return phraseOperator(name, new PhraseMatcher(filePhrases(readDataFile(param, baseDir))));
}
