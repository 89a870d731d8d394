import { createHash, randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * A new row id like `job_0m3x9k2a1000a4f1c9e2`: milliseconds, a per-process sequence and randomness.
 * Ids sort by creation time, so "newest first" is stable for rows written in the same millisecond;
 * the random tail keeps ids of different control nodes apart.
 */
export function newId(prefix: string, now = Date.now()): string {
  if (now === lastMs) sequence += 1;
  else {
    lastMs = now;
    sequence = 0;
  }
  const time = Math.max(0, now).toString(36).padStart(9, '0');
  const seq = sequence.toString(36).padStart(4, '0');
  return `${prefix}_${time}${seq}${randomBytes(5).toString('hex')}`;
}

/** A new bearer secret like `tp_…` (256 random bits): shown once, stored only as its hash. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 (hex) of a secret: what the tables store and look secrets up by. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
