import type { VariableRef } from '../types.ts';
import { SecLangSyntaxError } from './errors.ts';
import { quotedEnd, unquoteValue } from './tokenize.ts';

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Parses a target list such as `REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|&TX:'/^x/'`. */
export function parseVariables(text: string): VariableRef[] {
  // A `|` inside a `'…'` or `/…/` selector does not split; `XML:/*` has no closing slash and stays
  // a key. Selectors are kept as written, backslashes included, as libmodsecurity3 keeps them.
  const refs: VariableRef[] = [];
  let i = 0;
  do {
    const { ref, end } = parseOne(text, i);
    refs.push(ref);
    if (end < text.length && text[end] !== '|') {
      throw new SecLangSyntaxError(`unexpected "${text[end]}" after variable in ${text}`);
    }
    i = end + 1;
  } while (i <= text.length);
  return refs;
}

function parseOne(text: string, start: number): { ref: VariableRef; end: number } {
  const prefix = text[start] === '!' || text[start] === '&' ? text[start] : '';
  NAME.lastIndex = start + prefix.length;
  const name = NAME.exec(text)?.[0];
  if (name === undefined)
    throw new SecLangSyntaxError(`invalid variable at "${text.slice(start, start + 40)}"`);
  const base = { collection: name.toUpperCase(), exclude: prefix === '!', count: prefix === '&' };
  const afterName = NAME.lastIndex;
  if (text[afterName] !== ':') return { ref: base, end: afterName };
  const { selector, end } = parseSelector(text, afterName + 1);
  return { ref: { ...base, selector }, end };
}

function parseSelector(text: string, start: number): { selector: VariableRef['selector']; end: number } {
  if (text[start] === "'") {
    const end = quotedEnd(text, start);
    if (end < 0) throw new SecLangSyntaxError(`missing closing ' in ${text.slice(start, start + 60)}`);
    return { selector: keyOrRegex(unquoteValue(text.slice(start, end))), end };
  }
  const end = text[start] === '/' ? regexEnd(text, start) : -1;
  if (end > 0) return { selector: { regex: text.slice(start + 1, end - 1) }, end };
  const pipe = text.indexOf('|', start);
  const key = text.slice(start, pipe < 0 ? text.length : pipe);
  if (key === '') throw new SecLangSyntaxError(`empty selector after ":" in ${text}`);
  return { selector: key, end: start + key.length };
}

/** ModSecurity reads a quoted selector as a regex only when it is slash-delimited and longer than `//`. */
function keyOrRegex(key: string): VariableRef['selector'] {
  if (key === '') throw new SecLangSyntaxError("empty selector ''");
  return key.length > 2 && key.startsWith('/') && key.endsWith('/') ? { regex: key.slice(1, -1) } : key;
}

/** Index past the slash that closes the regex opened at `start` and ends the variable; -1 if none. */
function regexEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '/' && i > start + 1 && (i + 1 === text.length || text[i + 1] === '|')) return i + 1;
  }
  return -1;
}
