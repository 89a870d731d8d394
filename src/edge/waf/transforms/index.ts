/**
 * The SecLang transformations (`t:…` actions) of libmodsecurity 3.0.9, looked up by name. Values are
 * Latin-1 "binary" strings, one char per byte; each transformation returns its input itself (the same
 * string) when it changes nothing, so a caller can skip work with a reference comparison.
 */
import type { Transformation } from '../types.ts';
import { removeComments, removeCommentsChar, replaceComments } from './comments.ts';
import { length, md5, sha1 } from './digest.ts';
import {
  base64Decode,
  base64DecodeExt,
  base64Encode,
  hexDecode,
  hexEncode,
  sqlHexDecode,
} from './encoding.ts';
import { cssDecode, escapeSeqDecode, htmlEntityDecode, jsDecode } from './escapes.ts';
import { normalizePath, normalizePathWin } from './path.ts';
import {
  cmdLine,
  compressWhitespace,
  lowercase,
  parityEven7bit,
  parityOdd7bit,
  parityZero7bit,
  removeNulls,
  removeWhitespace,
  replaceNulls,
  trim,
  trimLeft,
  trimRight,
  uppercase,
} from './text.ts';
import { urlDecode, urlDecodeUni, urlEncode, utf8toUnicode } from './url.ts';

/** `t:none` is no function: it clears the transformations the rule (or its defaults) listed before it. */
export const NONE = 'none';

/** Each name in its usual SecLang spelling, with what it stands for. */
const TABLE: ReadonlyArray<readonly [string, Transformation | typeof NONE]> = [
  ['none', NONE],
  ['base64Decode', base64Decode],
  ['base64DecodeExt', base64DecodeExt],
  ['base64Encode', base64Encode],
  ['cmdLine', cmdLine],
  ['compressWhitespace', compressWhitespace],
  ['cssDecode', cssDecode],
  ['escapeSeqDecode', escapeSeqDecode],
  ['hexDecode', hexDecode],
  ['hexEncode', hexEncode],
  ['htmlEntityDecode', htmlEntityDecode],
  ['jsDecode', jsDecode],
  ['length', length],
  ['lowercase', lowercase],
  ['md5', md5],
  ['normalisePath', normalizePath],
  ['normalizePath', normalizePath],
  ['normalisePathWin', normalizePathWin],
  ['normalizePathWin', normalizePathWin],
  ['parityEven7bit', parityEven7bit],
  ['parityOdd7bit', parityOdd7bit],
  ['parityZero7bit', parityZero7bit],
  ['removeComments', removeComments],
  ['removeCommentsChar', removeCommentsChar],
  ['removeNulls', removeNulls],
  ['removeWhitespace', removeWhitespace],
  ['replaceComments', replaceComments],
  ['replaceNulls', replaceNulls],
  ['sha1', sha1],
  ['sqlHexDecode', sqlHexDecode],
  ['trim', trim],
  ['trimLeft', trimLeft],
  ['trimRight', trimRight],
  ['uppercase', uppercase],
  ['urlDecode', urlDecode],
  ['urlDecodeUni', urlDecodeUni],
  ['urlEncode', urlEncode],
  ['utf8toUnicode', utf8toUnicode],
];

const BY_NAME: ReadonlyMap<string, Transformation | typeof NONE> = new Map(
  TABLE.map(([name, t]) => [name.toLowerCase(), t]),
);

/** Every transformation name we know, in its usual spelling (SecLang matches them case-insensitively). */
export const TRANSFORMATION_NAMES: readonly string[] = Object.freeze(TABLE.map(([name]) => name));

/** Looks a `t:` name up case-insensitively: the function, the `'none'` marker, or undefined if unknown. */
export function transformation(name: string): Transformation | typeof NONE | undefined {
  return BY_NAME.get(name.toLowerCase());
}
