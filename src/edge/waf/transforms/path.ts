/** Path normalisation: `normalizePath` and `normalizePathWin` (also spelt `normalise…`). */
import type { Transformation } from '../types.ts';
import { bytesOf, finish } from './bytes.ts';

const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;

/**
 * A port of ModSecurity's `normalize_path_inplace`: collapses `//`, removes `/./` and resolves `/../`
 * against the previous segment without going above the root. A relative path keeps the `..` it cannot
 * resolve, and loses a leading `./`; a trailing slash is kept only if the input had one. With `win`,
 * backslashes are turned into slashes first.
 */
function normalize(input: string, win: boolean): string {
  const len = input.length;
  if (len === 0) return input;
  const buf = bytesOf(input);
  const isSep = (c: number): boolean => c === SLASH || (win && c === BACKSLASH);
  const end = len - 1;
  const relative = !isSep(buf[0]!);
  const trailing = isSep(buf[end]!);
  let src = 0;
  let dst = 0;
  let hitRoot = false;
  let done = false;

  while (!done && src <= end && dst <= end) {
    if (win) {
      if (buf[src] === BACKSLASH) buf[src] = SLASH;
      if (src < end && buf[src + 1] === BACKSLASH) buf[src + 1] = SLASH;
    }
    let copy = true;
    // Only the end of a segment (or of the input) is looked at; other bytes are copied as they are.
    if (src === end) done = true;
    const segmentEnd = done || buf[src + 1] === SLASH;
    if (segmentEnd && !(src !== end && buf[src] === SLASH)) {
      if (buf[src] === DOT) {
        if (dst > 0 && buf[dst - 1] === DOT) {
          // A back-reference: drop it and the previous segment, unless there is nothing to drop.
          if (!(relative && (hitRoot || dst - 2 <= 0))) {
            dst -= 3;
            while (dst > 0 && buf[dst] !== SLASH) dst--;
            if (dst <= 0) {
              hitRoot = true;
              dst = 0;
              // An absolute path that ends on a back-reference keeps its root slash.
              if (!relative && src === end) dst++;
            }
            if (done) copy = false;
            else src++;
          } else {
            hitRoot = true;
          }
        } else if (dst === 0) {
          // A relative self-reference at the start.
          if (done) copy = false;
          else src++;
        } else if (buf[dst - 1] === SLASH) {
          // A self-reference.
          if (done) copy = false;
          else {
            dst--;
            src++;
          }
        }
      } else if (dst > 0) {
        hitRoot = false;
      }
    }
    if (!copy) continue;
    if (buf[src] === SLASH) {
      // Several slashes count as one: skip to the last.
      while (src < end && isSep(buf[src + 1]!)) src++;
      // A relative path does not get a leading slash.
      if (relative && dst === 0) {
        src++;
        continue;
      }
    }
    buf[dst++] = buf[src++]!;
  }
  // No trailing slash unless the input had one.
  if (!trailing && dst > 0 && buf[dst - 1] === SLASH) dst--;
  return finish(input, buf, dst);
}

/** Whether `normalize` can change the input at all: it needs a separator or a dot. */
function mayChange(input: string, win: boolean): boolean {
  return input.indexOf('/') !== -1 || input.indexOf('.') !== -1 || (win && input.indexOf('\\') !== -1);
}

/** `t:normalizePath` / `t:normalisePath`. */
export const normalizePath: Transformation = (input) =>
  mayChange(input, false) ? normalize(input, false) : input;

/** `t:normalizePathWin` / `t:normalisePathWin`: backslashes count as slashes and become slashes. */
export const normalizePathWin: Transformation = (input) =>
  mayChange(input, true) ? normalize(input, true) : input;
