/** Binary encodings: `base64Decode`, `base64DecodeExt`, `base64Encode`, `hexDecode`, `hexEncode`, `sqlHexDecode`. */
import type { Transformation } from '../types.ts';
import { bytesOf, finish, isHex, x2c } from './bytes.ts';

const PAD = 0x3d; // '='
const INVALID = 127;

/** The base64 alphabet's values, 64 for `=`, INVALID for every other byte (mbedtls' `base64_dec_map`). */
const STRICT_MAP = new Uint8Array(256).fill(INVALID);
/** The forgiving decoder's values; -1 for the bytes it skips. */
const FORGIVING_MAP = new Int8Array(256).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let v = 0; v < 64; v++) {
    STRICT_MAP[alphabet.charCodeAt(v)] = v;
    FORGIVING_MAP[alphabet.charCodeAt(v)] = v;
  }
  STRICT_MAP[PAD] = 64;
}

/**
 * `t:base64Decode`, as libmodsecurity 3.0.9 does it with mbedtls' decoder: the value is read up to
 * its first NUL, and anything mbedtls rejects decodes to the empty string: a byte outside the
 * alphabet (a lone CR included), a space inside a line, data after `=`, more than two `=`. Line breaks
 * (LF, CRLF) and spaces before them or at the end are allowed. Only complete groups of four are decoded; a trailing partial group is
 * dropped (`QUJDRA` gives `ABC`).
 */
export const base64Decode: Transformation = (value) => {
  const nul = value.indexOf('\0');
  const input = nul === -1 ? value : value.slice(0, nul);
  const len = input.length;
  // First pass: validate, like mbedtls_base64_decode.
  let n = 0;
  let pads = 0;
  for (let i = 0; i < len; i++) {
    let spaces = false;
    while (i < len && input.charCodeAt(i) === 0x20) {
      i++;
      spaces = true;
    }
    if (i === len) break;
    const c = input.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && input.charCodeAt(i + 1) === 0x0a)) continue;
    if (spaces) return '';
    if (c === PAD && ++pads > 2) return '';
    const v = c > 0x7f ? INVALID : STRICT_MAP[c]!;
    if (v === INVALID || (v < 64 && pads !== 0)) return '';
    n++;
  }
  if (n === 0) return '';
  const out = Buffer.allocUnsafe(Math.floor((n * 6 + 7) / 8));
  let d = 0;
  let left = 3;
  let group = 0;
  let x = 0;
  for (let i = 0; i < len; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x20) continue;
    const v = STRICT_MAP[c & 0xff]!;
    if (v === 64) left--;
    x = ((x << 6) | (v & 0x3f)) & 0xffffff;
    if (++group === 4) {
      group = 0;
      if (left > 0) out[d++] = x >> 16;
      if (left > 1) out[d++] = (x >> 8) & 0xff;
      if (left > 2) out[d++] = x & 0xff;
    }
  }
  return out.toString('latin1', 0, d);
};

/**
 * `t:base64DecodeExt`, libmodsecurity's forgiving decoder: bytes outside the alphabet are skipped, `=` is ignored, and a trailing partial group still yields its whole
 * bytes (`QUJDRA` gives `ABCD`). It gives the empty string when a `=` that is not followed by another
 * `=` comes after 4k+1 data characters, or when the value ends after 4k+1 data characters of which
 * the last is `=` or, through a libmodsecurity quirk, the digit `9` (its value 61 is the code of `=`).
 */
export const base64DecodeExt: Transformation = (input) => {
  const len = input.length;
  const out = Buffer.alloc(Math.floor((len * 3) / 4) + 1);
  let chars = 0;
  let d = 0;
  // The last byte read, or after the table lookup its value: compared with '=' at the end, as in C.
  let ch = 0;
  for (let i = 0; i < len; i++) {
    ch = input.charCodeAt(i) & 0xff;
    if (ch === PAD) {
      // The byte after the last one is the C string's NUL terminator.
      if (input.charCodeAt(i + 1) !== PAD && chars % 4 === 1) return '';
      continue;
    }
    ch = FORGIVING_MAP[ch]!;
    if (ch < 0) continue;
    switch (chars % 4) {
      case 0:
        out[d] = ch << 2;
        break;
      case 1:
        out[d] = out[d]! | (ch >> 4);
        out[++d] = (ch & 0x0f) << 4;
        break;
      case 2:
        out[d] = out[d]! | (ch >> 2);
        out[++d] = (ch & 0x03) << 6;
        break;
      default:
        out[d] = out[d]! | ch;
        d++;
    }
    chars++;
  }
  if (ch === PAD && chars % 4 === 1) return '';
  return out.toString('latin1', 0, d);
};

/** `t:base64Encode`: standard alphabet, padded. */
export const base64Encode: Transformation = (input) => Buffer.from(input, 'latin1').toString('base64');

/**
 * `t:hexDecode`: each pair of bytes to one byte; a trailing odd byte is dropped. Like ModSecurity it
 * does not check the digits: a pair that is not hex decodes to whatever its unchecked arithmetic gives.
 */
export const hexDecode: Transformation = (input) => {
  const n = input.length >> 1;
  const out = Buffer.allocUnsafe(n);
  for (let k = 0; k < n; k++) out[k] = x2c(input.charCodeAt(2 * k), input.charCodeAt(2 * k + 1));
  return out.toString('latin1', 0, n);
};

/** `t:hexEncode`: each byte as two lower-case hex digits. */
export const hexEncode: Transformation = (input) => Buffer.from(input, 'latin1').toString('hex');

/**
 * `t:sqlHexDecode`: each `0x` (or `0X`) followed by pairs of hex digits becomes those bytes (`0x414`
 * gives `A4`); a `0x` without a pair is kept. It ports libmodsecurity 3.0.9's loop exactly, whose
 * off-by-one drops the input's last byte unless it is consumed by, or comes right after, a decoded
 * run, and which stops at the first NUL, read or decoded.
 */
export const sqlHexDecode: Transformation = (input) => {
  const len = input.length;
  if (len === 0) return input;
  // Two NULs: the C string's terminator, and the byte after it the loop may copy.
  const data = bytesOf(input, 2);
  let d = 0;
  let p = 0;
  let count = 1;
  while (count < len && data[p] !== 0) {
    if (data[p] === 0x30 && (data[p + 1]! | 0x20) === 0x78 && isHex(data[p + 2]!) && isHex(data[p + 3]!)) {
      p += 2;
      count += 2;
      while (isHex(data[p]!) && isHex(data[p + 1]!)) {
        data[d++] = x2c(data[p]!, data[p + 1]!);
        p += 2;
        count += 2;
      }
    }
    data[d++] = data[p++]!;
    count++;
  }
  const nul = data.indexOf(0);
  return finish(input, data, nul !== -1 && nul < d ? nul : d);
};
