/** Language escapes: `htmlEntityDecode`, `jsDecode`, `cssDecode`, `escapeSeqDecode`. */
import type { Transformation } from '../types.ts';
import { finish, hexNibble, isDigit, isHex, isOctal, isSpace, outputBuffer, x2c } from './bytes.ts';

/** `isalnum` in the C locale. */
function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

/** The named entities ModSecurity knows (matched case-insensitively); every other name is kept. */
const NAMED_ENTITIES: Readonly<Record<string, number>> = {
  quot: 0x22,
  amp: 0x26,
  lt: 0x3c,
  gt: 0x3e,
  nbsp: 0xa0,
};

/**
 * The byte `(unsigned char) strtol(digits, NULL, radix)` gives for a run of digits: the low byte of the
 * value, or 0xFF once it overflows a 64-bit `long` (strtol then returns LONG_MAX).
 */
function strtolByte(input: string, start: number, end: number, radix: 10 | 16): number {
  while (start < end && input.charCodeAt(start) === 0x30) start++;
  const digits = end - start;
  if (radix === 16) {
    if (digits > 16 || (digits === 16 && hexNibble(input.charCodeAt(start)) >= 8)) return 0xff;
    return digits === 0
      ? 0
      : digits === 1
        ? hexNibble(input.charCodeAt(start))
        : x2c(input.charCodeAt(end - 2), input.charCodeAt(end - 1));
  }
  if (digits > 19 || (digits === 19 && input.slice(start, end) > '9223372036854775807')) return 0xff;
  let v = 0;
  for (let k = start; k < end; k++) v = (v * 10 + input.charCodeAt(k) - 0x30) & 0xff;
  return v;
}

/**
 * `t:htmlEntityDecode`: `&#DDD;`, `&#xHH;` (the low byte of the number) and `&quot;`, `&amp;`, `&lt;`,
 * `&gt;`, `&nbsp;` (NBSP is the byte 0xA0), each with or without the closing semicolon. Any other
 * entity is left as written.
 */
export const htmlEntityDecode: Transformation = (input) => {
  let i = input.indexOf('&');
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    let decoded = -1;
    let j = i + 1;
    if (c === 0x26 && j < len) {
      if (input.charCodeAt(j) === 0x23) {
        j++;
        const x = input.charCodeAt(j) | 0x20;
        const radix = x === 0x78 ? 16 : 10;
        if (radix === 16) j++;
        const k = j;
        while (j < len && (radix === 16 ? isHex(input.charCodeAt(j)) : isDigit(input.charCodeAt(j)))) j++;
        if (j > k) decoded = strtolByte(input, k, j, radix);
      } else {
        const k = j;
        while (j < len && isAlnum(input.charCodeAt(j))) j++;
        if (j > k) decoded = NAMED_ENTITIES[input.slice(k, j).toLowerCase()] ?? -1;
      }
    }
    if (decoded === -1) {
      // Whatever was looked at is copied raw; none of it can start another entity but the `&`.
      out[d++] = c;
      i++;
    } else {
      out[d++] = decoded;
      i = j < len && input.charCodeAt(j) === 0x3b ? j + 1 : j;
    }
  }
  return finish(input, out, d);
};

/** The byte of a C escape letter (`\n` …) that jsDecode and escapeSeqDecode both know, or -1. */
function cEscape(c: number): number {
  switch (c) {
    case 0x61: // a
      return 0x07;
    case 0x62: // b
      return 0x08;
    case 0x66: // f
      return 0x0c;
    case 0x6e: // n
      return 0x0a;
    case 0x72: // r
      return 0x0d;
    case 0x74: // t
      return 0x09;
    case 0x76: // v
      return 0x0b;
    default:
      return -1;
  }
}

/** The length (1–3) of the run of octal digits at `start`, bounded by the input. */
function octalRun(input: string, start: number): number {
  let j = 1;
  while (j < 3 && start + j < input.length && isOctal(input.charCodeAt(start + j))) j++;
  return j;
}

/** The value of `n` octal digits at `start`. */
function octalValue(input: string, start: number, n: number): number {
  let v = 0;
  for (let k = start; k < start + n; k++) v = v * 8 + input.charCodeAt(k) - 0x30;
  return v;
}

/**
 * `t:jsDecode`: `\uHHHH` (low byte, full-width ASCII shifted like urlDecodeUni), `\xHH`, `\OOO` (up to
 * three octal digits that fit one byte), the C letters `\a \b \f \n \r \t \v`, and any other `\C` to
 * `C`. Only lower-case `u` and `x` are escapes; a trailing lone backslash is kept.
 */
export const jsDecode: Transformation = (input) => {
  let i = input.indexOf('\\');
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= len) {
      out[d++] = c;
      i++;
      continue;
    }
    const e = input.charCodeAt(i + 1);
    if (
      e === 0x75 &&
      i + 5 < len &&
      isHex(input.charCodeAt(i + 2)) &&
      isHex(input.charCodeAt(i + 3)) &&
      isHex(input.charCodeAt(i + 4)) &&
      isHex(input.charCodeAt(i + 5))
    ) {
      const low = x2c(input.charCodeAt(i + 4), input.charCodeAt(i + 5));
      const fullWidth =
        (input.charCodeAt(i + 2) | 0x20) === 0x66 && (input.charCodeAt(i + 3) | 0x20) === 0x66;
      out[d++] = fullWidth && low > 0x00 && low < 0x5f ? low + 0x20 : low;
      i += 6;
    } else if (
      e === 0x78 &&
      i + 3 < len &&
      isHex(input.charCodeAt(i + 2)) &&
      isHex(input.charCodeAt(i + 3))
    ) {
      out[d++] = x2c(input.charCodeAt(i + 2), input.charCodeAt(i + 3));
      i += 4;
    } else if (isOctal(e)) {
      let n = octalRun(input, i + 1);
      // Three digits are used only when they fit one byte (\000 – \377).
      if (n === 3 && e > 0x33) n = 2;
      out[d++] = octalValue(input, i + 1, n);
      i += 1 + n;
    } else {
      const b = cEscape(e);
      out[d++] = b === -1 ? e : b;
      i += 2;
    }
  }
  return finish(input, out, d);
};

/**
 * `t:cssDecode` (CSS 2 escapes): `\` and 1–6 hex digits become one byte, the last two digits (one
 * digit: its value; 4 digits, or 5–6 with leading zeros: full-width ASCII shifted), and one whitespace
 * after the digits is eaten; `\` before a newline is dropped with it; `\C` is `C`; a trailing `\` is
 * dropped. Like libmodsecurity 3.0.9, which returns the result as a C string, the output stops at
 * its first NUL byte, whether it was in the input or decoded (`\0`).
 */
export const cssDecode: Transformation = (input) => {
  let i = input.indexOf('\\');
  if (i === -1) {
    const nul = input.indexOf('\0');
    return nul === -1 ? input : input.slice(0, nul);
  }
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c !== 0x5c) {
      out[d++] = c;
      i++;
      continue;
    }
    i++;
    if (i >= len) break;
    let j = 0;
    while (j < 6 && i + j < len && isHex(input.charCodeAt(i + j))) j++;
    if (j === 0) {
      const e = input.charCodeAt(i);
      if (e !== 0x0a) out[d++] = e;
      i++;
      continue;
    }
    let b: number;
    let fullCheck = false;
    if (j === 1) b = hexNibble(input.charCodeAt(i));
    else {
      b = x2c(input.charCodeAt(i + j - 2), input.charCodeAt(i + j - 1));
      fullCheck =
        j === 4 ||
        (j === 5 && input.charCodeAt(i) === 0x30) ||
        (j === 6 && input.charCodeAt(i) === 0x30 && input.charCodeAt(i + 1) === 0x30);
    }
    if (
      fullCheck &&
      b > 0x00 &&
      b < 0x5f &&
      (input.charCodeAt(i + j - 3) | 0x20) === 0x66 &&
      (input.charCodeAt(i + j - 4) | 0x20) === 0x66
    ) {
      b += 0x20;
    }
    out[d++] = b;
    if (i + j < len && isSpace(input.charCodeAt(i + j))) j++;
    i += j;
  }
  const nul = out.indexOf(0);
  return finish(input, out, nul !== -1 && nul < d ? nul : d);
};

/**
 * `t:escapeSeqDecode` (ANSI C escapes): `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH` (also `\X`) and up to
 * three octal digits (the value modulo 256); an unknown `\C`, including an invalid `\x`, becomes `C`.
 */
export const escapeSeqDecode: Transformation = (input) => {
  let i = input.indexOf('\\');
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= len) {
      out[d++] = c;
      i++;
      continue;
    }
    const e = input.charCodeAt(i + 1);
    const letter = e === 0x5c || e === 0x3f || e === 0x27 || e === 0x22 ? e : cEscape(e);
    if (letter !== -1) {
      out[d++] = letter;
      i += 2;
    } else if (
      (e | 0x20) === 0x78 &&
      i + 3 < len &&
      isHex(input.charCodeAt(i + 2)) &&
      isHex(input.charCodeAt(i + 3))
    ) {
      out[d++] = x2c(input.charCodeAt(i + 2), input.charCodeAt(i + 3));
      i += 4;
    } else if (isOctal(e)) {
      const n = octalRun(input, i + 1);
      out[d++] = octalValue(input, i + 1, n) & 0xff;
      i += 1 + n;
    } else {
      out[d++] = e;
      i += 2;
    }
  }
  return finish(input, out, d);
};
