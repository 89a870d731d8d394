/**
 * SQL injection detection: a TypeScript port of libinjection 3.9.2's `libinjection_sqli.c`, the copy
 * libmodsecurity 3.0.9 bundles for `@detectSQLi`. The input is tokenized (up to 5 significant
 * tokens after folding), the token types form a fingerprint like `s&sos`, and the fingerprint is
 * looked up in libinjection's list; a few whitelist rules drop common false positives. The input is
 * tried as-is, then as if it continued a single-quoted and a double-quoted string, and in MySQL mode
 * when comments suggest it.
 *
 * The port keeps C's byte semantics where they decide verdicts: `char` is signed (bytes >= 0x80 are
 * negative: "less than 33" in q-strings, "<= 32" after a number), NUL counts as white space, and
 * `strspn`/`strcspn`-style scans treat NUL as a member of every set (`strchr` finds the terminator).
 *
 * libinjection: Copyright 2012-2016 Nick Galbreath, BSD 3-Clause License.
 */
import { CHAR_PARSER_CODES, CHAR_PARSER_NAMES, KEYWORDS_BY_TYPE } from './sqli-data.ts';

const FLAG_QUOTE_NONE = 1;
const FLAG_QUOTE_SINGLE = 2;
const FLAG_QUOTE_DOUBLE = 4;
const FLAG_SQL_ANSI = 8;
const FLAG_SQL_MYSQL = 16;

const MAX_TOKENS = 5;
/** Size of a token's value buffer; values keep at most 31 bytes. */
const TOKEN_SIZE = 32;

const T_NONE = '';
const T_KEYWORD = 'k';
const T_UNION = 'U';
const T_GROUP = 'B';
const T_EXPRESSION = 'E';
const T_SQLTYPE = 't';
const T_FUNCTION = 'f';
const T_BAREWORD = 'n';
const T_NUMBER = '1';
const T_VARIABLE = 'v';
const T_STRING = 's';
const T_OPERATOR = 'o';
const T_LOGIC_OPERATOR = '&';
const T_COMMENT = 'c';
const T_COLLATE = 'A';
const T_LEFTPARENS = '(';
const T_RIGHTPARENS = ')';
const T_LEFTBRACE = '{';
const T_RIGHTBRACE = '}';
const T_DOT = '.';
const T_COMMA = ',';
const T_COLON = ':';
const T_SEMICOLON = ';';
const T_TSQL = 'T';
const T_UNKNOWN = '?';
const T_EVIL = 'X';
const T_FINGERPRINT = 'F';
const T_BACKSLASH = '\\';

const KEYWORDS: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [type, words] of Object.entries(KEYWORDS_BY_TYPE)) {
    for (const w of words.split('\n')) m.set(w, type);
  }
  return m;
})();

/** Upper-cases ASCII letters only, as libinjection's `cstrcasecmp` does. */
function upperAscii(s: string): string {
  let i = 0;
  while (i < s.length && !(s.charCodeAt(i) >= 0x61 && s.charCodeAt(i) <= 0x7a)) i++;
  if (i === s.length) return s;
  // Only ASCII: the built-in upper-cases exactly the letters a-z (Latin-1 letters would change too).
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x61 && c <= 0x7a ? UPPER[c - 0x61]! : s[i]!;
  }
  return out;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const NON_ASCII = /[\u0080-\uffff]/;

/** libinjection's keyword lookup (`bsearch_keyword_type`): the word's type, or '' when unknown. */
function lookupWord(word: string): string {
  return KEYWORDS.get(upperAscii(word)) ?? T_NONE;
}

/** `cstrcasecmp(upper, s) == 0`: `s` equals the upper-case word, ignoring ASCII case. */
function isWord(upper: string, s: string): boolean {
  return s.length === upper.length && upperAscii(s) === upper;
}

/** A char as C's signed `char` would compare it. */
function signed(c: number): number {
  return c >= 0x80 ? c - 0x100 : c;
}

function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A set of bytes for the span helpers; NUL is always in it (C's `strchr` finds the terminator). */
function byteSet(chars: string): Uint8Array {
  const set = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  set[0] = 1;
  return set;
}

const WORD_END = byteSet(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\xa0');
const VAR_END = byteSet(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"");
const MONEY_DIGITS = byteSet('0123456789.,');
const LETTERS = byteSet('abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
const HEX_DIGITS = byteSet('0123456789ABCDEFabcdef');
const BIN_DIGITS = byteSet('01');

class Token {
  type = T_NONE;
  pos = 0;
  len = 0;
  count = 0;
  strOpen = 0;
  strClose = 0;
  val = '';

  clear(): void {
    this.type = T_NONE;
    this.pos = 0;
    this.len = 0;
    this.count = 0;
    this.strOpen = 0;
    this.strClose = 0;
    this.val = '';
  }

  copyFrom(o: Token): void {
    this.type = o.type;
    this.pos = o.pos;
    this.len = o.len;
    this.count = o.count;
    this.strOpen = o.strOpen;
    this.strClose = o.strClose;
    this.val = o.val;
  }

  assign(type: string, pos: number, len: number, value: string): void {
    const last = len < TOKEN_SIZE ? len : TOKEN_SIZE - 1;
    this.type = type;
    this.pos = pos;
    this.len = last;
    this.val = value.slice(0, last);
  }

  assignChar(type: string, pos: number, value: string): void {
    this.type = type;
    this.pos = pos;
    this.len = 1;
    this.val = value;
  }

  /** `val[i]` as C sees it: NUL past the value. */
  at(i: number): string {
    return i < this.val.length ? this.val[i]! : '\0';
  }
}

function isUnaryOp(t: Token): boolean {
  if (t.type !== T_OPERATOR) return false;
  switch (t.len) {
    case 1:
      return t.val === '+' || t.val === '-' || t.val === '!' || t.val === '~';
    case 2:
      return t.val === '!!';
    case 3:
      return isWord('NOT', t.val);
    default:
      return false;
  }
}

function isArithmeticOp(t: Token): boolean {
  return t.type === T_OPERATOR && t.len === 1 && '*/-+%'.includes(t.val);
}

type Parser = (sf: SqliState) => number;

class SqliState {
  s = '';
  slen = 0;
  flags = 0;
  pos = 0;
  readonly tokens: Token[] = Array.from({ length: 8 }, () => new Token());
  current: Token;
  fingerprint = '';
  statsCommentDdx = 0;
  statsCommentHash = 0;
  statsTokens = 0;

  constructor() {
    this.current = this.tokens[0]!;
  }

  /** Starts on a new input (the state object is reused: detection is synchronous). */
  load(s: string): void {
    this.s = s;
    this.slen = s.length;
  }

  /** Byte at `i`; NUL at and past the end (the C string's terminator). */
  at(i: number): number {
    return i < this.slen ? this.s.charCodeAt(i) : 0;
  }

  reset(flags: number): void {
    this.flags = flags === 0 ? FLAG_QUOTE_NONE | FLAG_SQL_ANSI : flags;
    this.pos = 0;
    for (const t of this.tokens) t.clear();
    this.current = this.tokens[0]!;
    this.fingerprint = '';
    this.statsCommentDdx = 0;
    this.statsCommentHash = 0;
    this.statsTokens = 0;
  }

  /** Count of leading bytes from `start` (within `len`) that are in `set`. */
  spn(start: number, len: number, set: Uint8Array): number {
    for (let i = 0; i < len; i++) if (set[this.at(start + i)] === 0) return i;
    return len;
  }

  /** Count of leading bytes from `start` (within `len`) that are not in `set`. */
  cspn(start: number, len: number, set: Uint8Array): number {
    for (let i = 0; i < len; i++) if (set[this.at(start + i)] === 1) return i;
    return len;
  }

  /** Index of the first `c0 c1` pair in [start, start+len), or -1. */
  find2(start: number, len: number, c0: number, c1: number): number {
    if (len < 2) return -1;
    const last = start + len - 1;
    for (let i = start; i < last; i++) if (this.at(i) === c0 && this.at(i + 1) === c1) return i;
    return -1;
  }

  /** Index of byte `c` in [start, start+len), or -1. */
  find(start: number, len: number, c: number): number {
    if (len <= 0) return -1;
    const i = this.s.indexOf(String.fromCharCode(c), start);
    return i !== -1 && i < start + len ? i : -1;
  }

  text(start: number, len: number): string {
    return this.s.slice(start, start + len);
  }

  tokenize(): boolean {
    const cur = this.current;
    if (this.slen === 0) return false;
    cur.clear();
    if (this.pos === 0 && this.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
      const delim = this.flags & FLAG_QUOTE_SINGLE ? 0x27 : this.flags & FLAG_QUOTE_DOUBLE ? 0x22 : 0;
      this.pos = parseStringCore(this, 0, cur, delim, 0);
      this.statsTokens++;
      return true;
    }
    while (this.pos < this.slen) {
      this.pos = CHAR_PARSERS[this.s.charCodeAt(this.pos) & 0xff]!(this);
      if (cur.type !== T_NONE) {
        this.statsTokens++;
        return true;
      }
    }
    return false;
  }
}

function parseWhite(sf: SqliState): number {
  return sf.pos + 1;
}

function parseOperator1(sf: SqliState): number {
  sf.current.assignChar(T_OPERATOR, sf.pos, sf.s[sf.pos]!);
  return sf.pos + 1;
}

function parseOther(sf: SqliState): number {
  sf.current.assignChar(T_UNKNOWN, sf.pos, sf.s[sf.pos]!);
  return sf.pos + 1;
}

function parseChar(sf: SqliState): number {
  const c = sf.s[sf.pos]!;
  sf.current.assignChar(c, sf.pos, c);
  return sf.pos + 1;
}

function parseEolComment(sf: SqliState): number {
  const pos = sf.pos;
  const end = sf.find(pos, sf.slen - pos, 0x0a);
  if (end === -1) {
    sf.current.assign(T_COMMENT, pos, sf.slen - pos, sf.text(pos, sf.slen - pos));
    return sf.slen;
  }
  sf.current.assign(T_COMMENT, pos, end - pos, sf.text(pos, end - pos));
  return end + 1;
}

function parseHash(sf: SqliState): number {
  sf.statsCommentHash++;
  if (sf.flags & FLAG_SQL_MYSQL) {
    sf.statsCommentHash++;
    return parseEolComment(sf);
  }
  sf.current.assignChar(T_OPERATOR, sf.pos, '#');
  return sf.pos + 1;
}

function parseDash(sf: SqliState): number {
  const pos = sf.pos;
  const slen = sf.slen;
  if (pos + 2 < slen && sf.at(pos + 1) === 0x2d && isWhite(sf.at(pos + 2))) return parseEolComment(sf);
  if (pos + 2 === slen && sf.at(pos + 1) === 0x2d) return parseEolComment(sf);
  if (pos + 1 < slen && sf.at(pos + 1) === 0x2d && sf.flags & FLAG_SQL_ANSI) {
    sf.statsCommentDdx++;
    return parseEolComment(sf);
  }
  sf.current.assignChar(T_OPERATOR, pos, '-');
  return pos + 1;
}

function parseSlash(sf: SqliState): number {
  const pos = sf.pos;
  const slen = sf.slen;
  if (pos + 1 === slen || sf.at(pos + 1) !== 0x2a) return parseOperator1(sf);
  const end = sf.find2(pos + 2, slen - (pos + 2), 0x2a, 0x2f);
  const clen = end === -1 ? slen - pos : end + 2 - pos;
  let type = T_COMMENT;
  // A nested `/*` (PostgreSQL) or a MySQL `/*!` comment is unparsable on purpose.
  if (end !== -1 && sf.find2(pos + 2, end - (pos + 1), 0x2f, 0x2a) !== -1) type = T_EVIL;
  else if (pos + 2 < slen && sf.at(pos + 2) === 0x21) type = T_EVIL;
  sf.current.assign(type, pos, clen, sf.text(pos, clen));
  return pos + clen;
}

function parseBackslash(sf: SqliState): number {
  const pos = sf.pos;
  if (pos + 1 < sf.slen && sf.at(pos + 1) === 0x4e) {
    sf.current.assign(T_NUMBER, pos, 2, sf.text(pos, 2));
    return pos + 2;
  }
  sf.current.assignChar(T_BACKSLASH, pos, sf.s[pos]!);
  return pos + 1;
}

function parseOperator2(sf: SqliState): number {
  const pos = sf.pos;
  if (pos + 1 >= sf.slen) return parseOperator1(sf);
  if (pos + 2 < sf.slen && sf.at(pos) === 0x3c && sf.at(pos + 1) === 0x3d && sf.at(pos + 2) === 0x3e) {
    sf.current.assign(T_OPERATOR, pos, 3, sf.text(pos, 3));
    return pos + 3;
  }
  const type = lookupWord(sf.text(pos, 2));
  if (type !== T_NONE) {
    sf.current.assign(type, pos, 2, sf.text(pos, 2));
    return pos + 2;
  }
  if (sf.at(pos) === 0x3a) {
    sf.current.assign(T_COLON, pos, 1, sf.text(pos, 1));
    return pos + 1;
  }
  return parseOperator1(sf);
}

/** Whether the quote at `end` is escaped by an odd run of backslashes that starts at or after `start`. */
function isBackslashEscaped(sf: SqliState, end: number, start: number): boolean {
  let p = end;
  while (p >= start && sf.at(p) === 0x5c) p--;
  return (end - p) % 2 === 1;
}

function parseStringCore(sf: SqliState, pos: number, st: Token, delim: number, offset: number): number {
  const len = sf.slen;
  const from = pos + offset;
  let q = sf.find(from, len - from, delim);
  st.strOpen = offset > 0 ? delim : 0;
  for (;;) {
    if (q === -1) {
      st.assign(T_STRING, from, len - from, sf.text(from, len - from));
      st.strClose = 0;
      return len;
    }
    if (isBackslashEscaped(sf, q - 1, from)) {
      q = sf.find(q + 1, len - (q + 1), delim);
      continue;
    }
    if (q + 1 < len && sf.at(q + 1) === sf.at(q)) {
      q = sf.find(q + 2, len - (q + 2), delim);
      continue;
    }
    st.assign(T_STRING, from, q - from, sf.text(from, q - from));
    st.strClose = delim;
    return q + 1;
  }
}

function parseString(sf: SqliState): number {
  return parseStringCore(sf, sf.pos, sf.current, sf.at(sf.pos), 1);
}

function parseEstring(sf: SqliState): number {
  const pos = sf.pos;
  if (pos + 2 >= sf.slen || sf.at(pos + 1) !== 0x27) return parseWord(sf);
  return parseStringCore(sf, pos, sf.current, 0x27, 2);
}

function parseUstring(sf: SqliState): number {
  const pos = sf.pos;
  if (pos + 2 < sf.slen && sf.at(pos + 1) === 0x26 && sf.at(pos + 2) === 0x27) {
    sf.pos += 2;
    const next = parseString(sf);
    sf.current.strOpen = 0x75;
    if (sf.current.strClose === 0x27) sf.current.strClose = 0x75;
    return next;
  }
  return parseWord(sf);
}

function parseQstringCore(sf: SqliState, offset: number): number {
  const slen = sf.slen;
  const pos = sf.pos + offset;
  if (
    pos >= slen ||
    (sf.at(pos) !== 0x71 && sf.at(pos) !== 0x51) ||
    pos + 2 >= slen ||
    sf.at(pos + 1) !== 0x27
  ) {
    return parseWord(sf);
  }
  let ch = sf.at(pos + 2);
  if (signed(ch) < 33) return parseWord(sf);
  if (ch === 0x28) ch = 0x29;
  else if (ch === 0x5b) ch = 0x5d;
  else if (ch === 0x7b) ch = 0x7d;
  else if (ch === 0x3c) ch = 0x3e;
  const end = sf.find2(pos + 3, slen - pos - 3, ch, 0x27);
  if (end === -1) {
    sf.current.assign(T_STRING, pos + 3, slen - pos - 3, sf.text(pos + 3, slen - pos - 3));
    sf.current.strOpen = 0x71;
    sf.current.strClose = 0;
    return slen;
  }
  sf.current.assign(T_STRING, pos + 3, end - pos - 3, sf.text(pos + 3, end - pos - 3));
  sf.current.strOpen = 0x71;
  sf.current.strClose = 0x71;
  return end + 2;
}

function parseQstring(sf: SqliState): number {
  return parseQstringCore(sf, 0);
}

function parseNqstring(sf: SqliState): number {
  if (sf.pos + 2 < sf.slen && sf.at(sf.pos + 1) === 0x27) return parseEstring(sf);
  return parseQstringCore(sf, 1);
}

function parseDigitString(sf: SqliState, digits: Uint8Array): number {
  const pos = sf.pos;
  const slen = sf.slen;
  if (pos + 2 >= slen || sf.at(pos + 1) !== 0x27) return parseWord(sf);
  const wlen = sf.spn(pos + 2, slen - pos - 2, digits);
  if (pos + 2 + wlen >= slen || sf.at(pos + 2 + wlen) !== 0x27) return parseWord(sf);
  sf.current.assign(T_NUMBER, pos, wlen + 3, sf.text(pos, wlen + 3));
  return pos + 2 + wlen + 1;
}

function parseBstring(sf: SqliState): number {
  return parseDigitString(sf, BIN_DIGITS);
}

function parseXstring(sf: SqliState): number {
  return parseDigitString(sf, HEX_DIGITS);
}

function parseBword(sf: SqliState): number {
  const pos = sf.pos;
  const end = sf.find(pos, sf.slen - pos, 0x5d);
  if (end === -1) {
    sf.current.assign(T_BAREWORD, pos, sf.slen - pos, sf.text(pos, sf.slen - pos));
    return sf.slen;
  }
  sf.current.assign(T_BAREWORD, pos, end - pos + 1, sf.text(pos, end - pos + 1));
  return end + 1;
}

function parseWord(sf: SqliState): number {
  const pos = sf.pos;
  const cur = sf.current;
  const wlen = sf.cspn(pos, sf.slen - pos, WORD_END);
  cur.assign(T_BAREWORD, pos, wlen, sf.text(pos, wlen));
  for (let i = 0; i < cur.len; i++) {
    const delim = cur.val[i];
    if (delim === '.' || delim === '`') {
      const type = lookupWord(cur.val.slice(0, i));
      if (type !== T_NONE && type !== T_BAREWORD) {
        cur.clear();
        cur.assign(type, pos, i, sf.text(pos, i));
        return pos + i;
      }
    }
  }
  if (wlen < TOKEN_SIZE) {
    const type = lookupWord(cur.val.slice(0, wlen));
    cur.type = type === T_NONE ? T_BAREWORD : type;
  }
  return pos + wlen;
}

function parseTick(sf: SqliState): number {
  const pos = parseStringCore(sf, sf.pos, sf.current, 0x60, 1);
  const type = lookupWord(sf.current.val);
  sf.current.type = type === T_FUNCTION ? T_FUNCTION : T_BAREWORD;
  return pos;
}

function parseVar(sf: SqliState): number {
  const slen = sf.slen;
  let pos = sf.pos + 1;
  if (pos < slen && sf.at(pos) === 0x40) {
    pos++;
    sf.current.count = 2;
  } else {
    sf.current.count = 1;
  }
  if (pos < slen) {
    const c = sf.at(pos);
    if (c === 0x60) {
      sf.pos = pos;
      const next = parseTick(sf);
      sf.current.type = T_VARIABLE;
      return next;
    }
    if (c === 0x27 || c === 0x22) {
      sf.pos = pos;
      const next = parseString(sf);
      sf.current.type = T_VARIABLE;
      return next;
    }
  }
  const xlen = sf.cspn(pos, slen - pos, VAR_END);
  sf.current.assign(T_VARIABLE, pos, xlen, sf.text(pos, xlen));
  return pos + xlen;
}

function parseMoney(sf: SqliState): number {
  const pos = sf.pos;
  const slen = sf.slen;
  const cur = sf.current;
  if (pos + 1 === slen) {
    cur.assignChar(T_BAREWORD, pos, '$');
    return slen;
  }
  let xlen = sf.spn(pos + 1, slen - pos - 1, MONEY_DIGITS);
  if (xlen === 0) {
    if (sf.at(pos + 1) === 0x24) {
      const end = sf.find2(pos + 2, slen - pos - 2, 0x24, 0x24);
      if (end === -1) {
        cur.assign(T_STRING, pos + 2, slen - (pos + 2), sf.text(pos + 2, slen - (pos + 2)));
        cur.strOpen = 0x24;
        cur.strClose = 0;
        return slen;
      }
      cur.assign(T_STRING, pos + 2, end - (pos + 2), sf.text(pos + 2, end - (pos + 2)));
      cur.strOpen = 0x24;
      cur.strClose = 0x24;
      return end + 2;
    }
    xlen = sf.spn(pos + 1, slen - pos - 1, LETTERS);
    if (xlen === 0) {
      cur.assignChar(T_BAREWORD, pos, '$');
      return pos + 1;
    }
    if (pos + xlen + 1 === slen || sf.at(pos + xlen + 1) !== 0x24) {
      cur.assignChar(T_BAREWORD, pos, '$');
      return pos + 1;
    }
    // `$tag$ … $tag$`: find the closing tag.
    const tag = sf.text(pos, xlen + 2);
    const from = pos + xlen + 2;
    let end = sf.s.indexOf(tag, from);
    if (xlen + 2 > slen - from) end = -1;
    if (end === -1) {
      cur.assign(T_STRING, from, slen - from, sf.text(from, slen - from));
      cur.strOpen = 0x24;
      cur.strClose = 0;
      return slen;
    }
    cur.assign(T_STRING, from, end - from, sf.text(from, end - from));
    cur.strOpen = 0x24;
    cur.strClose = 0x24;
    return end + xlen + 2;
  }
  if (xlen === 1 && sf.at(pos + 1) === 0x2e) return parseWord(sf);
  cur.assign(T_NUMBER, pos, 1 + xlen, sf.text(pos, 1 + xlen));
  return pos + 1 + xlen;
}

function parseNumber(sf: SqliState): number {
  const slen = sf.slen;
  const cur = sf.current;
  let pos = sf.pos;
  if (sf.at(pos) === 0x30 && pos + 1 < slen) {
    const c = sf.at(pos + 1);
    const digits = c === 0x58 || c === 0x78 ? HEX_DIGITS : c === 0x42 || c === 0x62 ? BIN_DIGITS : undefined;
    if (digits !== undefined) {
      const xlen = sf.spn(pos + 2, slen - pos - 2, digits);
      if (xlen === 0) {
        cur.assign(T_BAREWORD, pos, 2, sf.text(pos, 2));
        return pos + 2;
      }
      cur.assign(T_NUMBER, pos, 2 + xlen, sf.text(pos, 2 + xlen));
      return pos + 2 + xlen;
    }
  }
  const start = pos;
  while (pos < slen && isDigit(sf.at(pos))) pos++;
  if (pos < slen && sf.at(pos) === 0x2e) {
    pos++;
    while (pos < slen && isDigit(sf.at(pos))) pos++;
    if (pos - start === 1) {
      cur.assignChar(T_DOT, start, '.');
      return pos;
    }
  }
  let haveE = false;
  let haveExp = false;
  if (pos < slen && (sf.at(pos) === 0x45 || sf.at(pos) === 0x65)) {
    haveE = true;
    pos++;
    if (pos < slen && (sf.at(pos) === 0x2b || sf.at(pos) === 0x2d)) pos++;
    while (pos < slen && isDigit(sf.at(pos))) {
      haveExp = true;
      pos++;
    }
  }
  if (pos < slen) {
    const c = sf.at(pos);
    if (c === 0x64 || c === 0x44 || c === 0x66 || c === 0x46) {
      if (pos + 1 === slen) pos++;
      else {
        const n = sf.at(pos + 1);
        if (isWhite(n) || n === 0x3b || n === 0x75 || n === 0x55) pos++;
      }
    }
  }
  cur.assign(haveE && !haveExp ? T_BAREWORD : T_NUMBER, start, pos - start, sf.text(start, pos - start));
  return pos;
}

const PARSER_BY_NAME: Readonly<Record<(typeof CHAR_PARSER_NAMES)[number], Parser>> = {
  backslash: parseBackslash,
  bstring: parseBstring,
  bword: parseBword,
  char: parseChar,
  dash: parseDash,
  estring: parseEstring,
  hash: parseHash,
  money: parseMoney,
  nqstring: parseNqstring,
  number: parseNumber,
  operator1: parseOperator1,
  operator2: parseOperator2,
  other: parseOther,
  qstring: parseQstring,
  slash: parseSlash,
  string: parseString,
  tick: parseTick,
  ustring: parseUstring,
  var: parseVar,
  white: parseWhite,
  word: parseWord,
  xstring: parseXstring,
};

/** The parser of each first byte. */
const CHAR_PARSERS: readonly Parser[] = Array.from(
  CHAR_PARSER_CODES,
  (code) => PARSER_BY_NAME[CHAR_PARSER_NAMES[code.charCodeAt(0) - 0x61]!],
);

const MERGE_LEFT = new Set([
  T_KEYWORD,
  T_BAREWORD,
  T_OPERATOR,
  T_UNION,
  T_FUNCTION,
  T_EXPRESSION,
  T_TSQL,
  T_SQLTYPE,
]);
const MERGE_RIGHT = new Set([...MERGE_LEFT, T_LOGIC_OPERATOR]);

/** Merges two tokens that form a known phrase (`UNION` + `ALL`), into `a`. */
function mergeWords(a: Token, b: Token): boolean {
  if (!MERGE_LEFT.has(a.type) || !MERGE_RIGHT.has(b.type)) return false;
  const sz3 = a.len + b.len + 1;
  if (sz3 >= TOKEN_SIZE) return false;
  const merged = `${a.val} ${b.val}`;
  const type = lookupWord(merged);
  if (type === T_NONE) return false;
  a.assign(type, a.pos, sz3, merged);
  return true;
}

const FUNCTION_WORDS = new Set([
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
]);

/** Tokenizes and folds the input into at most 5 tokens; returns how many. */
function fold(sf: SqliState): number {
  const tv = sf.tokens;
  const lastComment = new Token();
  let pos = 0;
  let left = 0;
  let more = true;
  sf.current = tv[0]!;
  while (more) {
    more = sf.tokenize();
    const t = sf.current;
    if (!(t.type === T_COMMENT || t.type === T_LEFTPARENS || t.type === T_SQLTYPE || isUnaryOp(t))) break;
  }
  if (!more) return 0;
  pos += 1;

  for (;;) {
    if (pos >= MAX_TOKENS) {
      const [t0, t1, t2, t3, t4] = [tv[0]!.type, tv[1]!.type, tv[2]!.type, tv[3]!.type, tv[4]!.type];
      if (
        (t0 === T_NUMBER &&
          (t1 === T_OPERATOR || t1 === T_COMMA) &&
          t2 === T_LEFTPARENS &&
          t3 === T_NUMBER &&
          t4 === T_RIGHTPARENS) ||
        (t0 === T_BAREWORD &&
          t1 === T_OPERATOR &&
          t2 === T_LEFTPARENS &&
          (t3 === T_BAREWORD || t3 === T_NUMBER) &&
          t4 === T_RIGHTPARENS) ||
        (t0 === T_NUMBER &&
          t1 === T_RIGHTPARENS &&
          t2 === T_COMMA &&
          t3 === T_LEFTPARENS &&
          t4 === T_NUMBER) ||
        (t0 === T_BAREWORD &&
          t1 === T_RIGHTPARENS &&
          t2 === T_OPERATOR &&
          t3 === T_LEFTPARENS &&
          t4 === T_BAREWORD)
      ) {
        if (pos > MAX_TOKENS) {
          tv[1]!.copyFrom(tv[MAX_TOKENS]!);
          pos = 2;
          left = 0;
        } else {
          pos = 1;
          left = 0;
        }
      }
    }
    if (!more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }
    while (more && pos <= MAX_TOKENS && pos - left < 2) {
      sf.current = tv[pos]!;
      more = sf.tokenize();
      if (more) {
        if (sf.current.type === T_COMMENT) lastComment.copyFrom(sf.current);
        else {
          lastComment.type = T_NONE;
          pos += 1;
        }
      }
    }
    if (pos - left < 2) {
      left = pos;
      continue;
    }
    const a = tv[left]!;
    const b = tv[left + 1]!;
    if (a.type === T_STRING && b.type === T_STRING) {
      pos -= 1;
      continue;
    }
    if (a.type === T_SEMICOLON && b.type === T_SEMICOLON) {
      pos -= 1;
      continue;
    }
    if ((a.type === T_OPERATOR || a.type === T_LOGIC_OPERATOR) && (isUnaryOp(b) || b.type === T_SQLTYPE)) {
      pos -= 1;
      left = 0;
      continue;
    }
    if (a.type === T_LEFTPARENS && isUnaryOp(b)) {
      pos -= 1;
      if (left > 0) left -= 1;
      continue;
    }
    if (mergeWords(a, b)) {
      pos -= 1;
      if (left > 0) left -= 1;
      continue;
    }
    if (
      a.type === T_SEMICOLON &&
      b.type === T_FUNCTION &&
      (b.at(0) === 'I' || b.at(0) === 'i') &&
      (b.at(1) === 'F' || b.at(1) === 'f')
    ) {
      b.type = T_TSQL;
      continue;
    }
    if (
      (a.type === T_BAREWORD || a.type === T_VARIABLE) &&
      b.type === T_LEFTPARENS &&
      FUNCTION_WORDS.has(upperAscii(a.val))
    ) {
      a.type = T_FUNCTION;
      continue;
    }
    if (a.type === T_KEYWORD && (isWord('IN', a.val) || isWord('NOT IN', a.val))) {
      a.type = b.type === T_LEFTPARENS ? T_OPERATOR : T_BAREWORD;
      continue;
    }
    if (a.type === T_OPERATOR && (isWord('LIKE', a.val) || isWord('NOT LIKE', a.val))) {
      if (b.type === T_LEFTPARENS) a.type = T_FUNCTION;
    } else if (
      a.type === T_SQLTYPE &&
      (b.type === T_BAREWORD ||
        b.type === T_NUMBER ||
        b.type === T_SQLTYPE ||
        b.type === T_LEFTPARENS ||
        b.type === T_FUNCTION ||
        b.type === T_VARIABLE ||
        b.type === T_STRING)
    ) {
      a.copyFrom(b);
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === T_COLLATE && b.type === T_BAREWORD) {
      if (cString(b.val).includes('_')) {
        b.type = T_SQLTYPE;
        left = 0;
      }
    } else if (a.type === T_BACKSLASH) {
      if (isArithmeticOp(b)) a.type = T_NUMBER;
      else {
        a.copyFrom(b);
        pos -= 1;
      }
      left = 0;
      continue;
    } else if (a.type === T_LEFTPARENS && b.type === T_LEFTPARENS) {
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === T_RIGHTPARENS && b.type === T_RIGHTPARENS) {
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === T_LEFTBRACE && b.type === T_BAREWORD) {
      if (b.len === 0) {
        b.type = T_EVIL;
        return left + 2;
      }
      left = 0;
      pos -= 2;
      continue;
    } else if (b.type === T_RIGHTBRACE) {
      pos -= 1;
      left = 0;
      continue;
    }

    while (more && pos <= MAX_TOKENS && pos - left < 3) {
      sf.current = tv[pos]!;
      more = sf.tokenize();
      if (more) {
        if (sf.current.type === T_COMMENT) lastComment.copyFrom(sf.current);
        else {
          lastComment.type = T_NONE;
          pos += 1;
        }
      }
    }
    if (pos - left < 3) {
      left = pos;
      continue;
    }
    const x = tv[left]!;
    const y = tv[left + 1]!;
    const z = tv[left + 2]!;
    if (x.type === T_NUMBER && y.type === T_OPERATOR && z.type === T_NUMBER) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (x.type === T_OPERATOR && y.type !== T_LEFTPARENS && z.type === T_OPERATOR) {
      left = 0;
      pos -= 2;
      continue;
    }
    if (x.type === T_LOGIC_OPERATOR && z.type === T_LOGIC_OPERATOR) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (
      x.type === T_VARIABLE &&
      y.type === T_OPERATOR &&
      (z.type === T_VARIABLE || z.type === T_NUMBER || z.type === T_BAREWORD)
    ) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (
      (x.type === T_BAREWORD || x.type === T_NUMBER) &&
      y.type === T_OPERATOR &&
      (z.type === T_NUMBER || z.type === T_BAREWORD)
    ) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (
      (x.type === T_BAREWORD || x.type === T_NUMBER || x.type === T_VARIABLE || x.type === T_STRING) &&
      y.type === T_OPERATOR &&
      cString(y.val) === '::' &&
      z.type === T_SQLTYPE
    ) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (
      (x.type === T_BAREWORD || x.type === T_NUMBER || x.type === T_STRING || x.type === T_VARIABLE) &&
      y.type === T_COMMA &&
      (z.type === T_NUMBER || z.type === T_BAREWORD || z.type === T_STRING || z.type === T_VARIABLE)
    ) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (
      (x.type === T_EXPRESSION || x.type === T_GROUP || x.type === T_COMMA) &&
      isUnaryOp(y) &&
      z.type === T_LEFTPARENS
    ) {
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    }
    if (
      (x.type === T_KEYWORD || x.type === T_EXPRESSION || x.type === T_GROUP) &&
      isUnaryOp(y) &&
      (z.type === T_NUMBER ||
        z.type === T_BAREWORD ||
        z.type === T_VARIABLE ||
        z.type === T_STRING ||
        z.type === T_FUNCTION)
    ) {
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    }
    if (
      x.type === T_COMMA &&
      isUnaryOp(y) &&
      (z.type === T_NUMBER || z.type === T_BAREWORD || z.type === T_VARIABLE || z.type === T_STRING)
    ) {
      y.copyFrom(z);
      left = 0;
      pos -= 3;
      continue;
    }
    if (x.type === T_COMMA && isUnaryOp(y) && z.type === T_FUNCTION) {
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    }
    if (x.type === T_BAREWORD && y.type === T_DOT && z.type === T_BAREWORD) {
      pos -= 2;
      left = 0;
      continue;
    }
    if (x.type === T_EXPRESSION && y.type === T_DOT && z.type === T_BAREWORD) {
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    }
    if (x.type === T_FUNCTION && y.type === T_LEFTPARENS && z.type !== T_RIGHTPARENS) {
      if (isWord('USER', x.val)) x.type = T_BAREWORD;
    }
    left += 1;
  }
  if (left < MAX_TOKENS && lastComment.type === T_COMMENT) {
    tv[left]!.copyFrom(lastComment);
    left += 1;
  }
  return Math.min(left, MAX_TOKENS);
}

/** A token value as a C string (up to the first NUL). */
function cString(v: string): string {
  const nul = v.indexOf('\0');
  return nul === -1 ? v : v.slice(0, nul);
}

/** Computes the fingerprint of the input under `flags` (fills `sf.fingerprint` and the tokens). */
function fingerprint(sf: SqliState, flags: number): string {
  sf.reset(flags);
  const tlen = fold(sf);
  const tv = sf.tokens;
  if (tlen > 2) {
    const last = tv[tlen - 1]!;
    // PHP's backquote comment: an empty, unclosed backtick word at the end is a comment.
    if (last.type === T_BAREWORD && last.strOpen === 0x60 && last.len === 0 && last.strClose === 0) {
      last.type = T_COMMENT;
    }
  }
  let fp = '';
  for (let i = 0; i < tlen; i++) fp += tv[i]!.type;
  if (fp.includes(T_EVIL)) {
    fp = T_EVIL;
    tv[0]!.type = T_EVIL;
    tv[0]!.val = T_EVIL;
    tv[1]!.type = T_NONE;
  }
  sf.fingerprint = fp;
  return fp;
}

function blacklisted(sf: SqliState): boolean {
  const fp = sf.fingerprint;
  if (fp.length < 1) return false;
  return lookupWord(`0${upperAscii(fp)}`) === T_FINGERPRINT;
}

/** libinjection's false-positive filters; true when the fingerprint still looks like SQLi. */
function notWhitelisted(sf: SqliState): boolean {
  const fp = sf.fingerprint;
  const tlen = fp.length;
  const tv = sf.tokens;
  if (tlen > 1 && fp[tlen - 1] === T_COMMENT && sf.s.includes('sp_password')) return true;
  switch (tlen) {
    case 2: {
      const t0 = tv[0]!;
      const t1 = tv[1]!;
      if (fp[1] === T_UNION) return sf.statsTokens !== 2;
      if (t1.at(0) === '#') return false;
      if (t0.type === T_BAREWORD && t1.type === T_COMMENT && t1.at(0) !== '/') return false;
      if (t0.type === T_NUMBER && t1.type === T_COMMENT && t1.at(0) === '/') return true;
      if (t0.type === T_NUMBER && t1.type === T_COMMENT) {
        if (sf.statsTokens > 2) return true;
        const ch = sf.at(t0.len);
        if (signed(ch) <= 32) return true;
        if (ch === 0x2f && sf.at(t0.len + 1) === 0x2a) return true;
        if (ch === 0x2d && sf.at(t0.len + 1) === 0x2d) return true;
        return false;
      }
      if (t1.len > 2 && t1.at(0) === '-') return false;
      break;
    }
    case 3: {
      if (fp === 'sos' || fp === 's&s') {
        const t0 = tv[0]!;
        const t2 = tv[2]!;
        return t0.strOpen === 0 && t2.strClose === 0 && t0.strClose === t2.strOpen;
      }
      if (fp === 's&n' || fp === 'n&1' || fp === '1&1' || fp === '1&v' || fp === '1&s') {
        if (sf.statsTokens === 3) return false;
      } else if (tv[1]!.type === T_KEYWORD) {
        const t1 = tv[1]!;
        if (t1.len < 5 || upperAscii(t1.val.slice(0, 4)) !== 'INTO') return false;
      }
      break;
    }
    default:
      break;
  }
  return true;
}

function isSqliFingerprint(sf: SqliState): boolean {
  return blacklisted(sf) && notWhitelisted(sf);
}

const STATE = new SqliState();
const NOT_SQLI: SqliResult = Object.freeze({ sqli: false, fingerprint: '' });

function hit(sf: SqliState, flags: number): boolean {
  fingerprint(sf, flags);
  return isSqliFingerprint(sf);
}

/** libinjection retries in MySQL mode when it saw `--x` or `#` comments. */
function reparseAsMysql(sf: SqliState): boolean {
  return sf.statsCommentDdx > 0 || sf.statsCommentHash > 0;
}

/** The result of `detectSqli`: whether the input is SQL injection, and its fingerprint when it is. */
export interface SqliResult {
  readonly sqli: boolean;
  readonly fingerprint: string;
}

/** `libinjection_sqli`: tests a byte string (Latin-1) for SQL injection. */
export function detectSqli(input: string): SqliResult {
  if (input.length === 0) return NOT_SQLI;
  const sf = STATE;
  sf.load(input);
  if (
    hit(sf, FLAG_QUOTE_NONE | FLAG_SQL_ANSI) ||
    (reparseAsMysql(sf) && hit(sf, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL)) ||
    (input.includes("'") &&
      (hit(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI) ||
        (reparseAsMysql(sf) && hit(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL)))) ||
    (input.includes('"') && hit(sf, FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL))
  ) {
    return { sqli: true, fingerprint: sf.fingerprint };
  }
  return NOT_SQLI;
}
