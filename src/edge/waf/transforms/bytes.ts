/**
 * Byte-level helpers shared by the transformations. Request values are Latin-1 "binary" strings (one
 * char per byte), so a char code is a byte and the C classification macros ModSecurity uses (`isspace`,
 * `isxdigit`, `VALID_HEX`, `x2c` …) can be reproduced exactly, in the "C" locale libmodsecurity runs in.
 */

/** `isspace` in the C locale: space, \t, \n, \v, \f, \r (never NBSP or any byte above 0x7f). */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** `isxdigit` / ModSecurity's `VALID_HEX`. NaN (reading past the end) is not a digit. */
export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** `isdigit`. */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ModSecurity's `ISODIGIT`. */
export function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

/**
 * ModSecurity's `xsingle2c`: the value of one hex digit. It does not validate, so like the C code it
 * yields garbage (mod 256) for a non-digit; callers that care check `isHex` first.
 */
export function hexNibble(c: number): number {
  return (c >= 0x41 ? (c & 0xdf) - 0x41 + 10 : c - 0x30) & 0xff;
}

/** ModSecurity's `x2c`: two hex digits to a byte, with the same unchecked arithmetic modulo 256. */
export function x2c(hi: number, lo: number): number {
  return (hexNibble(hi) * 16 + hexNibble(lo)) & 0xff;
}

/** Lower-case hex digits, indexed by nibble. */
export const HEX_DIGITS = '0123456789abcdef';

/**
 * A Buffer copy of the input bytes, for the ports of ModSecurity's in-place algorithms. `extra`
 * zero bytes are appended so that the C code's reads of the NUL terminator (and one past it) behave
 * the same here.
 */
export function bytesOf(input: string, extra = 0): Buffer {
  if (extra === 0) return Buffer.from(input, 'latin1');
  const b = Buffer.alloc(input.length + extra);
  b.write(input, 0, 'latin1');
  return b;
}

/**
 * An output buffer with room for `size` bytes whose first `prefix` bytes are already the input's,
 * for decoders that found their first escape at `prefix` and copied nothing yet.
 */
export function outputBuffer(input: string, size: number, prefix: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  if (prefix > 0) out.write(input, 0, prefix, 'latin1');
  return out;
}

/**
 * The first `length` bytes of `buf` as a Latin-1 string. Returns `input` itself when the result is
 * equal to it, so that callers can detect a no-op with a reference comparison.
 */
export function finish(input: string, buf: Buffer, length: number): string {
  const s = buf.toString('latin1', 0, length);
  return s === input ? input : s;
}
