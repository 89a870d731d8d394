/**
 * XSS detection: a TypeScript port of libinjection 3.9.2's `libinjection_xss.c`, the copy
 * libmodsecurity 3.0.9 bundles for `@detectXSS`. The input is tokenized as HTML five times (as
 * text, and as the inside of an unquoted, single-, double- and back-quoted attribute value); it is
 * XSS when a token is a doctype, a dangerous tag (`script`, `iframe`, anything `svg`/`xsl`…), an
 * event-handler or otherwise dangerous attribute, a URL attribute whose value starts with
 * `javascript:`-like schemes (HTML entities decoded), or a suspicious comment.
 *
 * C details kept: entity decoding reads past the token into the rest of the input; a decoded code
 * point is compared by its low byte; bytes >= 0x80 count as white space before a URL.
 *
 * libinjection: Copyright 2012-2016 Nick Galbreath, BSD 3-Clause License.
 */
import { H5Start, H5Type, Html5Tokenizer } from './html5.ts';

enum Attr {
  None,
  Black,
  Url,
  Style,
  Indirect,
}

const BLACK_ATTRS: ReadonlyArray<readonly [string, Attr]> = [
  ['ACTION', Attr.Url],
  ['ATTRIBUTENAME', Attr.Indirect],
  ['BY', Attr.Url],
  ['BACKGROUND', Attr.Url],
  ['DATAFORMATAS', Attr.Black],
  ['DATASRC', Attr.Black],
  ['DYNSRC', Attr.Url],
  ['FILTER', Attr.Style],
  ['FORMACTION', Attr.Url],
  ['FOLDER', Attr.Url],
  ['FROM', Attr.Url],
  ['HANDLER', Attr.Url],
  ['HREF', Attr.Url],
  ['LOWSRC', Attr.Url],
  ['POSTER', Attr.Url],
  ['SRC', Attr.Url],
  ['STYLE', Attr.Style],
  ['TO', Attr.Url],
  ['VALUES', Attr.Url],
  ['XLINK:HREF', Attr.Url],
];

const BLACK_TAGS = [
  'APPLET',
  'BASE',
  'COMMENT',
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER',
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
];

/** Whether s[start, start+len) equals the upper-case word, ignoring NULs in s and ASCII case. */
function equalsIgnoringNul(word: string, s: string, start: number, len: number): boolean {
  let k = 0;
  for (let i = start; i < start + len; i++) {
    let c = s.charCodeAt(i);
    if (c === 0) continue;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (k >= word.length || word.charCodeAt(k) !== c) return false;
    k++;
  }
  return k === word.length;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return 256;
}

/**
 * `html_decode_char_at`: the character at `i` (of the `len` bytes left in the token), decoding
 * `&#ddd;` and `&#xhh;`; reads past the token into the rest of the input like the C code.
 */
function decodeCharAt(s: string, i: number, len: number): [value: number, consumed: number] {
  const at = (k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  if (len === 0) return [-1, 0];
  if (at(i) !== 0x26 || len < 2) return [at(i), 1];
  if (at(i + 1) !== 0x23) return [0x26, 1];
  if (at(i + 2) === 0x78 || at(i + 2) === 0x58) {
    let ch = hexValue(at(i + 3));
    if (ch === 256) return [0x26, 1];
    let val = ch;
    let k = 4;
    while (k < len) {
      const c = at(i + k);
      if (c === 0x3b) return [val, k + 1];
      ch = hexValue(c);
      if (ch === 256) return [val, k];
      val = val * 16 + ch;
      if (val > 0x1000ff) return [0x26, 1];
      k++;
    }
    return [val, k];
  }
  let k = 2;
  let c = at(i + k);
  if (c < 0x30 || c > 0x39) return [0x26, 1];
  let val = c - 0x30;
  k++;
  while (k < len) {
    c = at(i + k);
    if (c === 0x3b) return [val, k + 1];
    if (c < 0x30 || c > 0x39) return [val, k];
    val = val * 10 + (c - 0x30);
    if (val > 0x1000ff) return [0x26, 1];
    k++;
  }
  return [val, k];
}

/** `htmlencode_startswith`: whether the HTML-encoded bytes start with the upper-case prefix. */
function htmlStartsWith(prefix: string, s: string, start: number, n: number): boolean {
  let k = 0;
  let i = start;
  let first = true;
  while (n > 0) {
    if (k === prefix.length) return true;
    const [decoded, consumed] = decodeCharAt(s, i, n);
    let cb = decoded;
    i += consumed;
    n -= consumed;
    if (first && cb <= 32) continue;
    first = false;
    if (cb === 0 || cb === 10) continue;
    if (cb >= 0x61 && cb <= 0x7a) cb -= 0x20;
    if (prefix.charCodeAt(k) !== (cb & 0xff)) return false;
    k++;
  }
  return k === prefix.length;
}

function isBlackTag(s: string, start: number, len: number): boolean {
  if (len < 3) return false;
  for (const tag of BLACK_TAGS) if (equalsIgnoringNul(tag, s, start, len)) return true;
  const three = s.slice(start, start + 3).toLowerCase();
  return three === 'svg' || three === 'xsl';
}

function blackAttr(s: string, start: number, len: number): Attr {
  if (len < 2) return Attr.None;
  if (len >= 5) {
    const c0 = s.charCodeAt(start) | 0x20;
    const c1 = s.charCodeAt(start + 1) | 0x20;
    if (c0 === 0x6f && c1 === 0x6e) return Attr.Black;
    if (equalsIgnoringNul('XMLNS', s, start, 5) || equalsIgnoringNul('XLINK', s, start, 5)) return Attr.Black;
  }
  for (const [name, type] of BLACK_ATTRS) if (equalsIgnoringNul(name, s, start, len)) return type;
  return Attr.None;
}

function isBlackUrl(s: string, start: number, len: number): boolean {
  let i = start;
  let n = len;
  // Skips control and white space, DEL and every byte >= 0x80 (signed chars below 33).
  while (n > 0 && (s.charCodeAt(i) <= 32 || s.charCodeAt(i) >= 127)) {
    i++;
    n--;
  }
  return (
    htmlStartsWith('DATA', s, i, n) ||
    htmlStartsWith('VIEW-SOURCE', s, i, n) ||
    htmlStartsWith('JAVA', s, i, n) ||
    htmlStartsWith('VBSCRIPT', s, i, n)
  );
}

function isXssFrom(s: string, start: H5Start): boolean {
  const h = new Html5Tokenizer(s, start);
  let attr = Attr.None;
  while (h.next()) {
    const t = h.tokenType;
    const ts = h.tokenStart;
    const tl = h.tokenLen;
    if (t !== H5Type.AttrValue) attr = Attr.None;
    if (t === H5Type.Doctype) return true;
    if (t === H5Type.TagNameOpen) {
      if (isBlackTag(s, ts, tl)) return true;
    } else if (t === H5Type.AttrName) {
      attr = blackAttr(s, ts, tl);
    } else if (t === H5Type.AttrValue) {
      switch (attr) {
        case Attr.Black:
        case Attr.Style:
          return true;
        case Attr.Url:
          if (isBlackUrl(s, ts, tl)) return true;
          break;
        case Attr.Indirect:
          if (blackAttr(s, ts, tl) !== Attr.None) return true;
          break;
        default:
          break;
      }
      attr = Attr.None;
    } else if (t === H5Type.TagComment) {
      const text = s.slice(ts, ts + tl);
      if (text.includes('`')) return true;
      if (tl > 3) {
        const head = text.slice(0, 3).toLowerCase();
        if (head === '[if') return true;
        if (head === 'xml') return true;
      }
      if (tl > 5 && (equalsIgnoringNul('IMPORT', s, ts, 6) || equalsIgnoringNul('ENTITY', s, ts, 6)))
        return true;
    }
  }
  return false;
}

/** `libinjection_xss`: tests a byte string (Latin-1) for XSS in every HTML context. */
export function detectXss(input: string): boolean {
  return (
    isXssFrom(input, H5Start.Data) ||
    isXssFrom(input, H5Start.ValueNoQuote) ||
    isXssFrom(input, H5Start.ValueSingleQuote) ||
    isXssFrom(input, H5Start.ValueDoubleQuote) ||
    isXssFrom(input, H5Start.ValueBackQuote)
  );
}
