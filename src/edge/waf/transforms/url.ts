/** URL encodings: `urlDecode`, `urlDecodeUni`, `urlEncode`, `utf8toUnicode`. */
import type { Transformation } from '../types.ts';
import { finish, HEX_DIGITS, isHex, outputBuffer, x2c } from './bytes.ts';

/** Index of the first `%` or `+`, the only bytes the URL decoders change; -1 when there is none. */
function firstEscape(input: string): number {
  // Two indexOf calls (memchr) beat one regex search here.
  const pct = input.indexOf('%');
  const plus = input.indexOf('+');
  return pct === -1 ? plus : plus === -1 ? pct : Math.min(pct, plus);
}

/**
 * `t:urlDecode`: `%XX` to its byte and `+` to a space. Like ModSecurity's non-strict decoder an invalid
 * or truncated escape (`%zz`, `%4`, `%`) is kept as it is.
 */
export const urlDecode: Transformation = (input) => {
  let i = firstEscape(input);
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c === 0x25 && i + 2 < len && isHex(input.charCodeAt(i + 1)) && isHex(input.charCodeAt(i + 2))) {
      out[d++] = x2c(input.charCodeAt(i + 1), input.charCodeAt(i + 2));
      i += 3;
    } else {
      out[d++] = c === 0x2b ? 0x20 : c;
      i++;
    }
  }
  return finish(input, out, d);
};

/**
 * `t:urlDecodeUni`: `urlDecode` plus IIS's `%uXXXX`. Without a `SecUnicodeMapFile` (we never load one,
 * and the transformation has no transaction to find one in) libmodsecurity 3.0.9 keeps the low byte of
 * the code point, adding 0x20 for full-width ASCII (`%uFF01`–`%uFF5E` become `!`–`~`); so `%u0041` and
 * `%u4E41` both decode to `A`. An invalid `%u` escape keeps both `%` and `u` and goes on after them.
 */
export const urlDecodeUni: Transformation = (input) => {
  let i = firstEscape(input);
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c !== 0x25) {
      out[d++] = c === 0x2b ? 0x20 : c;
      i++;
      continue;
    }
    const next = input.charCodeAt(i + 1);
    if (next === 0x75 || next === 0x55) {
      if (
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
      } else {
        out[d++] = c;
        out[d++] = next;
        i += 2;
      }
    } else if (i + 2 < len && isHex(next) && isHex(input.charCodeAt(i + 2))) {
      out[d++] = x2c(next, input.charCodeAt(i + 2));
      i += 3;
    } else {
      out[d++] = c;
      i++;
    }
  }
  return finish(input, out, d);
};

/** For each byte urlEncode escapes, its two lower-case hex digits' codes (high << 8 | low); 0 to keep. */
const URL_ESCAPES = new Uint16Array(256);
for (let c = 0; c < 256; c++) {
  const keep = c === 0x2a || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  URL_ESCAPES[c] = keep ? 0 : (HEX_DIGITS.charCodeAt(c >> 4) << 8) | HEX_DIGITS.charCodeAt(c & 0x0f);
}

/** `t:urlEncode`: like ModSecurity, a space becomes `+` and every byte but `*`, digits and letters `%xx`. */
export const urlEncode: Transformation = (input) => {
  let i = input.search(/[^*0-9A-Za-z]/);
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, i + (len - i) * 3, i);
  let d = i;
  for (; i < len; i++) {
    const c = input.charCodeAt(i) & 0xff;
    const hex = URL_ESCAPES[c]!;
    if (hex === 0) out[d++] = c;
    else if (c === 0x20) out[d++] = 0x2b;
    else {
      out[d++] = 0x25;
      out[d++] = hex >> 8;
      out[d++] = hex & 0xff;
    }
  }
  return out.toString('latin1', 0, d);
};

/**
 * `t:utf8toUnicode`: each well-formed UTF-8 sequence of 2–4 bytes becomes `%uXXXX` (lower-case hex, at
 * least four digits; `%u1f600` for astral characters). It ports libmodsecurity's quirks, which change
 * what `@rx` sees: ASCII and other single bytes are kept; NUL bytes are dropped; a lead byte (0xC0–0xF4)
 * whose continuation bytes are missing or wrong is dropped (its followers are then read on their own);
 * an overlong form or a surrogate (U+D800–U+DFFF) is encoded and then followed by its raw lead byte; a
 * lead byte 0xF5–0xF7 is copied raw before its (encoded) sequence.
 */
export const utf8toUnicode: Transformation = (input) => {
  // Only NULs and lead bytes of multi-byte sequences change anything.
  let i = input.search(/[\0\xc0-\xff]/);
  if (i === -1) return input;
  const len = input.length;
  // The worst case is 7 output bytes for 2 input bytes: an overlong pair, `%u00XX` and its lead byte.
  const out = outputBuffer(input, i + (len - i) * 4, i);
  let d = i;
  // Reads past the end see the C string's NUL terminator.
  const at = (k: number): number => (k < len ? input.charCodeAt(k) : 0);
  const isCont = (k: number): boolean => (at(k) & 0xc0) === 0x80;
  while (i < len) {
    const c = input.charCodeAt(i) & 0xff;
    let size = 0;
    let cp = 0;
    if (c < 0x80) {
      if (c !== 0) out[d++] = c;
    } else if ((c & 0xe0) === 0xc0) {
      if (isCont(i + 1)) {
        size = 2;
        cp = ((c & 0x1f) << 6) | (at(i + 1) & 0x3f);
      }
    } else if ((c & 0xf0) === 0xe0) {
      if (isCont(i + 1) && isCont(i + 2)) {
        size = 3;
        cp = ((c & 0x0f) << 12) | ((at(i + 1) & 0x3f) << 6) | (at(i + 2) & 0x3f);
      }
    } else if ((c & 0xf8) === 0xf0) {
      if (c >= 0xf5) out[d++] = c;
      if (isCont(i + 1) && isCont(i + 2) && isCont(i + 3)) {
        size = 4;
        cp = ((c & 0x07) << 18) | ((at(i + 1) & 0x3f) << 12) | ((at(i + 2) & 0x3f) << 6) | (at(i + 3) & 0x3f);
      }
    } else {
      out[d++] = c;
    }
    if (size > 0) {
      out[d++] = 0x25;
      out[d++] = 0x75;
      const hex = cp.toString(16);
      for (let p = hex.length; p < 4; p++) out[d++] = 0x30;
      for (let p = 0; p < hex.length; p++) out[d++] = hex.charCodeAt(p);
      const overlong =
        (size === 4 && cp < 0x10000) || (size === 3 && cp < 0x800) || (size === 2 && cp < 0x80);
      if (cp >= 0xd800 && cp <= 0xdfff) out[d++] = c;
      if (overlong) out[d++] = c;
      i += size;
    } else {
      i++;
    }
  }
  return finish(input, out, d);
};
