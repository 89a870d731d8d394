/** Transformations that summarise the value: `length`, `md5`, `sha1`. */
import { createHash } from 'node:crypto';
import type { Transformation } from '../types.ts';

/** `t:length`: the value's length in bytes, in decimal. */
export const length: Transformation = (input) => String(input.length);

/** `t:md5`: the 16-byte binary digest, as a Latin-1 string (combine with `t:hexEncode` to read it). */
export const md5: Transformation = (input) =>
  createHash('md5').update(input, 'latin1').digest().toString('latin1');

/** `t:sha1`: the 20-byte binary digest, as a Latin-1 string. */
export const sha1: Transformation = (input) =>
  createHash('sha1').update(input, 'latin1').digest().toString('latin1');
