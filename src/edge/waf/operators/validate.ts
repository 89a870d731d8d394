/** The `@validate…` operators: each matches when the value is *invalid*. */
import type { CompiledOperator } from '../types.ts';
import { OperatorParamError } from './errors.ts';
import { MATCH, NO_MATCH } from './macro.ts';

const INTEGER = /^[ \t\n\v\f\r]*[+-]?[0-9]+/;

function byteValue(text: string, whole: string): number {
  const m = INTEGER.exec(text);
  const n = m === null ? Number.NaN : Number.parseInt(m[0].trim(), 10);
  if (!(n >= 0 && n <= 255))
    throw new OperatorParamError(`"${text}" in "${whole}" is not a byte value 0-255`);
  return n;
}

/**
 * Parses a byte-range list like `1-255` or `9,10,13,32-126`. ModSecurity skips a piece it cannot
 * parse and loads the rule anyway; we refuse it, since a silently narrower range is a configuration
 * mistake nobody sees.
 */
export function parseByteRanges(param: string): Uint8Array {
  const allowed = new Uint8Array(256);
  for (const piece of param.split(',')) {
    const dash = piece.indexOf('-');
    const start = byteValue(dash === -1 ? piece : piece.slice(0, dash), param);
    const end = dash === -1 ? start : byteValue(piece.slice(dash + 1), param);
    if (start > end) throw new OperatorParamError(`range "${piece}" in "${param}" ends before it starts`);
    allowed.fill(1, start, end + 1);
  }
  return allowed;
}

/** `@validateByteRange`: matches when some byte of the value is outside the ranges. */
export function validateByteRange(param: string): CompiledOperator {
  const allowed = parseByteRanges(param);
  return {
    name: 'validateByteRange',
    dynamic: false,
    run(value) {
      for (let i = 0; i < value.length; i++) {
        if (allowed[value.charCodeAt(i) & 0xff] === 0) return MATCH;
      }
      return NO_MATCH;
    },
  };
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * `@validateUrlEncoding`: matches when a `%` is not followed by two hex digits. An empty value is
 * valid. As in ModSecurity, a `%` among the last two bytes is invalid even if what follows is hex
 * (`%4` and `a%` fail; `%41` passes).
 */
export const validateUrlEncoding: CompiledOperator = {
  name: 'validateUrlEncoding',
  dynamic: false,
  run(value) {
    for (let i = 0; i < value.length; ) {
      if (value.charCodeAt(i) !== 0x25) {
        i++;
        continue;
      }
      if (i + 2 >= value.length) return MATCH;
      if (!isHex(value.charCodeAt(i + 1)) || !isHex(value.charCodeAt(i + 2))) return MATCH;
      i += 3;
    }
    return NO_MATCH;
  },
};

/**
 * Length of the UTF-8 sequence at `i`, or 0 when it is invalid: truncated, a bad continuation byte,
 * a lead byte that cannot start a sequence (0x80-0xBF, 0xF8-0xFF) or is above 0xF4, a surrogate, or
 * an overlong form. Like ModSecurity (RFC 3629), 4-byte sequences above U+10FFFF with lead 0xF4 pass.
 */
function utf8Length(v: string, i: number): number {
  const c = v.charCodeAt(i);
  if (c < 0x80) return 1;
  let len: number;
  let cp: number;
  if ((c & 0xe0) === 0xc0) [len, cp] = [2, c & 0x1f];
  else if ((c & 0xf0) === 0xe0) [len, cp] = [3, c & 0x0f];
  else if ((c & 0xf8) === 0xf0 && c < 0xf5) [len, cp] = [4, c & 0x07];
  else return 0;
  if (i + len > v.length) return 0;
  for (let k = 1; k < len; k++) {
    const b = v.charCodeAt(i + k);
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
  return cp < min ? 0 : len;
}

/** `@validateUtf8Encoding`: matches when the value (bytes) is not valid UTF-8. */
export const validateUtf8Encoding: CompiledOperator = {
  name: 'validateUtf8Encoding',
  dynamic: false,
  run(value) {
    for (let i = 0; i < value.length; ) {
      const n = utf8Length(value, i);
      if (n === 0) return MATCH;
      i += n;
    }
    return NO_MATCH;
  },
};
