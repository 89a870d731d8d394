/**
 * The outer layer of SecLang: lines, continuations, comments, arguments and quoted values.
 *
 * Backslashes follow libmodsecurity3, the engine Debian pairs with this CRS for nginx and the
 * reference of our differential test (Coraza does the same): inside a quoted string a backslash
 * only escapes the quote that delimits it, and every other backslash, `\\` included, reaches the
 * operator as written. mod_security2 differs here, because httpd's `ap_getword_conf` halves `\\`
 * before ModSecurity sees it: CRS 920460's `[^\\\\])\\\\[cde…]` is "one backslash then a letter"
 * under Apache but "two backslashes then a letter" under libmodsecurity3 and here. Backslash pairs
 * are still skipped when looking for the closing quote, so `"a\\"` ends after `\\`.
 */
import { SecLangSyntaxError } from './errors.ts';

/** One directive's text once continuation lines are joined, and the line it started on. */
export interface LogicalLine {
  readonly line: number;
  readonly text: string;
}

/** Joins `\`-continued lines and drops blank and comment lines. */
export function logicalLines(text: string): LogicalLine[] {
  // The backslash and line break go but the next line's indentation stays, as in httpd; only
  // whitespace between arguments or actions is affected in the CRS, where it does not matter. A
  // comment is recognised after joining, so a comment ending in `\` swallows the next line, as in
  // httpd and libmodsecurity3 (which keeps skipping `\`-continued lines of a commented-out rule).
  const out: LogicalLine[] = [];
  const lines = text.split('\n');
  let buffer = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (buffer === '') start = i + 1;
    if (raw.endsWith('\\') && i + 1 < lines.length) {
      buffer += raw.slice(0, -1);
      continue;
    }
    const joined = (buffer + raw).trim();
    buffer = '';
    if (joined !== '' && !joined.startsWith('#')) out.push({ line: start, text: joined });
  }
  return out;
}

/** Splits a logical line into arguments: runs of non-space characters or `"…"`/`'…'` strings. */
export function splitArguments(text: string): string[] {
  const words: string[] = [];
  let i = skipSpace(text, 0);
  while (i < text.length) {
    const quote = text[i] === '"' || text[i] === "'" ? text[i]! : '';
    if (quote === '') {
      const end = wordEnd(text, i);
      words.push(text.slice(i, end));
      i = skipSpace(text, end);
      continue;
    }
    const end = quotedEnd(text, i);
    if (end < 0) throw new SecLangSyntaxError(`missing closing ${quote} in ${text.slice(i, i + 60)}`);
    words.push(unescapeQuote(text.slice(i + 1, end - 1), quote));
    i = skipSpace(text, end);
  }
  return words;
}

/** The content of a `'…'` value in an action or target list (unquoted text is returned as is). */
export function unquoteValue(text: string): string {
  if (!text.startsWith("'")) return text;
  const end = quotedEnd(text, 0);
  if (end < 0) throw new SecLangSyntaxError(`missing closing ' in ${text}`);
  if (end !== text.length) throw new SecLangSyntaxError(`unexpected text after closing quote in ${text}`);
  return unescapeQuote(text.slice(1, -1), "'");
}

/** Index just past the quote closing the string that opens at `start`; -1 when it never closes. */
export function quotedEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i + 1;
  }
  return -1;
}

function unescapeQuote(body: string, quote: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    // A pair is copied whole so that in `\\"` the quote is not taken as escaped.
    if (body[i] === '\\' && i + 1 < body.length) {
      out += body[i + 1] === quote ? quote : body.slice(i, i + 2);
      i++;
    } else {
      out += body[i];
    }
  }
  return out;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

function wordEnd(text: string, i: number): number {
  while (i < text.length && !/\s/.test(text[i]!)) i++;
  return i;
}
