/**
 * Case, whitespace and NUL transformations, `cmdLine` and the 7-bit parity ones. "Whitespace" is C's
 * `isspace` in the "C" locale: space, \t, \n, \v, \f, \r.
 */
import type { Transformation } from '../types.ts';
import { finish, isSpace, outputBuffer } from './bytes.ts';

// The no-op checks below are single native regex scans: much faster than a JS loop over the chars.

/** `t:lowercase`: ASCII letters only, like `tolower` in the C locale (0xC0–0xDE are not letters here). */
export const lowercase: Transformation = (input) => {
  const first = input.search(/[A-Z]/);
  if (first === -1) return input;
  // JavaScript's own lower-casing is right unless there are Latin-1 capitals, which C keeps.
  if (!/[\xc0-\xde]/.test(input)) return input.toLowerCase();
  const out = outputBuffer(input, input.length, first);
  for (let i = first; i < input.length; i++) {
    const c = input.charCodeAt(i);
    out[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return out.toString('latin1');
};

/** `t:uppercase`: ASCII letters only. */
export const uppercase: Transformation = (input) => {
  const first = input.search(/[a-z]/);
  if (first === -1) return input;
  // Unless Latin-1 has lower-case letters (which JavaScript would map, µ ÿ and ß even out of Latin-1).
  if (!/[\xb5\xdf-\xff]/.test(input)) return input.toUpperCase();
  const out = outputBuffer(input, input.length, first);
  for (let i = first; i < input.length; i++) {
    const c = input.charCodeAt(i);
    out[i] = c >= 0x61 && c <= 0x7a ? c & 0xdf : c;
  }
  return out.toString('latin1');
};

function leftEnd(input: string): number {
  let i = 0;
  while (i < input.length && isSpace(input.charCodeAt(i))) i++;
  return i;
}

function rightEnd(input: string, from: number): number {
  let j = input.length;
  while (j > from && isSpace(input.charCodeAt(j - 1))) j--;
  return j;
}

/** `t:trimLeft`: removes leading whitespace. */
export const trimLeft: Transformation = (input) => {
  const i = leftEnd(input);
  return i === 0 ? input : input.slice(i);
};

/** `t:trimRight`: removes trailing whitespace. */
export const trimRight: Transformation = (input) => {
  const j = rightEnd(input, 0);
  return j === input.length ? input : input.slice(0, j);
};

/** `t:trim`: removes leading and trailing whitespace. */
export const trim: Transformation = (input) => {
  const i = leftEnd(input);
  const j = rightEnd(input, i);
  return i === 0 && j === input.length ? input : input.slice(i, j);
};

/** `t:compressWhitespace`: every run of whitespace becomes one space. */
export const compressWhitespace: Transformation = (input) => {
  // The first byte that changes: a whitespace other than a lone space.
  let i = input.search(/[\t\n\v\f\r]| [\t\n\v\f\r ]/);
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  let inSpace = false;
  for (; i < len; i++) {
    const c = input.charCodeAt(i);
    if (!isSpace(c)) {
      out[d++] = c;
      inSpace = false;
    } else if (!inSpace) {
      out[d++] = 0x20;
      inSpace = true;
    }
  }
  return finish(input, out, d);
};

/**
 * `t:removeWhitespace`: removes whitespace, and also the bytes 0xA0 and 0xC2 (libmodsecurity's way of
 * dropping a non-breaking space, Latin-1 or UTF-8, which means any 0xC2 byte goes too).
 */
export const removeWhitespace: Transformation = (input) => input.replace(/[\t-\r \xa0\xc2]+/g, '');

/** `t:removeNulls`: removes NUL bytes. */
export const removeNulls: Transformation = (input) =>
  input.indexOf('\0') === -1 ? input : input.replaceAll('\0', '');

/** `t:replaceNulls`: replaces NUL bytes with spaces. */
export const replaceNulls: Transformation = (input) =>
  input.indexOf('\0') === -1 ? input : input.replaceAll('\0', ' ');

/**
 * `t:cmdLine`, for command-injection rules: deletes `\ " ' ^`; turns each run of space, tab, CR, LF,
 * `,` and `;` into one space; drops a space before `/` or `(`; lower-cases ASCII letters.
 */
export const cmdLine: Transformation = (input) => {
  // The first byte that changes: a letter to lower-case, a byte to delete, a separator that is not a
  // lone space, or a space that a following separator, `/` or `(` will remove.
  let i = input.search(/[A-Z"'\\^,;\t\r\n]| [ ,;\t\r\n/(]/);
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  // The prefix kept so far can only end in a space that was a (single) separator.
  let space = i > 0 && input.charCodeAt(i - 1) === 0x20;
  for (; i < len; i++) {
    const c = input.charCodeAt(i);
    switch (c) {
      case 0x22: // "
      case 0x27: // '
      case 0x5c: // \
      case 0x5e: // ^
        break;
      case 0x20:
      case 0x2c: // ,
      case 0x3b: // ;
      case 0x09:
      case 0x0d:
      case 0x0a:
        if (!space) {
          out[d++] = 0x20;
          space = true;
        }
        break;
      case 0x2f: // /
      case 0x28: // (
        if (space) d--;
        space = false;
        out[d++] = c;
        break;
      default:
        out[d++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        space = false;
    }
  }
  return finish(input, out, d);
};

/** Bit `n` of 0x6996 is the parity of the 4-bit value `n`. */
function oddParity(c: number): boolean {
  let x = c ^ (c >> 4);
  x &= 0x0f;
  return ((0x6996 >> x) & 1) === 1;
}

/** Applies a byte map to every byte; returns the input when no byte changes. */
function mapBytes(input: string, f: (c: number) => number): string {
  const len = input.length;
  const out = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) out[i] = f(input.charCodeAt(i) & 0xff);
  return finish(input, out, len);
}

// Like ModSecurity, the parity is taken over all 8 bits of the input byte, bit 7 included.

/** `t:parityEven7bit`: bit 7 set for bytes of odd parity, cleared for the others. */
export const parityEven7bit: Transformation = (input) =>
  mapBytes(input, (c) => (oddParity(c) ? c | 0x80 : c & 0x7f));

/** `t:parityOdd7bit`: bit 7 cleared for bytes of odd parity, set for the others. */
export const parityOdd7bit: Transformation = (input) =>
  mapBytes(input, (c) => (oddParity(c) ? c & 0x7f : c | 0x80));

/** `t:parityZero7bit`: clears bit 7 of every byte. */
export const parityZero7bit: Transformation = (input) => mapBytes(input, (c) => c & 0x7f);
