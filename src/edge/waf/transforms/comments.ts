/** Comment removal: `replaceComments`, `removeComments`, `removeCommentsChar`. */
import type { Transformation } from '../types.ts';
import { finish, outputBuffer } from './bytes.ts';

const SLASH = 0x2f;
const STAR = 0x2a;
const DASH = 0x2d;

/** `t:replaceComments`: each C comment `/* … *\/` becomes one space, an unterminated one too. */
export const replaceComments: Transformation = (input) => {
  let i = input.indexOf('/*');
  if (i === -1) return input;
  const len = input.length;
  const out = outputBuffer(input, len, i);
  let d = i;
  while (i < len) {
    const end = input.indexOf('*/', i + 2);
    out[d++] = 0x20;
    if (end === -1) break;
    i = end + 2;
    const start = input.indexOf('/*', i);
    const stop = start === -1 ? len : start;
    d += out.write(input.slice(i, stop), d, 'latin1');
    i = stop;
  }
  return finish(input, out, d);
};

/**
 * `t:removeComments`: removes `/* … *\/` and `<!-- … -->` comments, and cuts the value at `--` or `#`
 * (line comments). An unterminated block comment becomes one space. It ports a libmodsecurity quirk:
 * the byte right after a comment's end is copied without being looked at (so it cannot start another
 * comment), and a comment that ends the value leaves a NUL byte in its place.
 */
export const removeComments: Transformation = (input) => {
  if (
    input.indexOf('/*') === -1 &&
    input.indexOf('<!--') === -1 &&
    input.indexOf('--') === -1 &&
    input.indexOf('#') === -1
  ) {
    return input;
  }
  const len = input.length;
  // Reads past the end see the C string's NUL terminator.
  const at = (k: number): number => (k < len ? input.charCodeAt(k) : 0);
  const out = Buffer.allocUnsafe(len + 1);
  let d = 0;
  let i = 0;
  let inComment = false;
  while (i < len) {
    const c = input.charCodeAt(i);
    if (!inComment) {
      if (c === SLASH && at(i + 1) === STAR) {
        inComment = true;
        i += 2;
      } else if (c === 0x3c && at(i + 1) === 0x21 && at(i + 2) === DASH && at(i + 3) === DASH) {
        inComment = true;
        i += 4;
      } else if ((c === DASH && at(i + 1) === DASH) || c === 0x23) {
        break;
      } else {
        out[d++] = c;
        i++;
      }
    } else if (c === STAR && at(i + 1) === SLASH) {
      inComment = false;
      out[d++] = at(i + 2);
      i += 3;
    } else if (c === DASH && at(i + 1) === DASH && at(i + 2) === 0x3e) {
      inComment = false;
      out[d++] = at(i + 3);
      i += 4;
    } else {
      i++;
    }
  }
  if (inComment) out[d++] = 0x20;
  return finish(input, out, d);
};

/** The length of the comment token `removeCommentsChar` removes at `i`, or 0. */
function commentToken(input: string, i: number): number {
  const c = input.charCodeAt(i);
  const n = input.charCodeAt(i + 1);
  if ((c === SLASH && n === STAR) || (c === STAR && n === SLASH)) return 2;
  if (c === 0x3c && n === 0x21 && input.startsWith('--', i + 2)) return 4;
  if (c === DASH && n === DASH) return input.charCodeAt(i + 2) === 0x3e ? 3 : 2;
  return c === 0x23 ? 1 : 0;
}

/** `t:removeCommentsChar`: removes the tokens `/*`, `*\/`, `<!--`, `-->`, `--` and `#`, keeping the text between. */
export const removeCommentsChar: Transformation = (input) => {
  if (
    input.indexOf('/*') === -1 &&
    input.indexOf('*/') === -1 &&
    input.indexOf('<!--') === -1 &&
    input.indexOf('--') === -1 &&
    input.indexOf('#') === -1
  ) {
    return input;
  }
  const len = input.length;
  const out = Buffer.allocUnsafe(len);
  let d = 0;
  let i = 0;
  while (i < len) {
    const n = commentToken(input, i);
    if (n > 0) i += n;
    else out[d++] = input.charCodeAt(i++);
  }
  return finish(input, out, d);
};
