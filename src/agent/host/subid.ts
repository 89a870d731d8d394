import { HostError } from './errors.ts';

/** One line of `/etc/subuid` or `/etc/subgid`: `owner:start:count`, the owner a name or a uid. */
export interface SubIdRange {
  readonly owner: string;
  readonly start: number;
  readonly count: number;
}

/** Subordinate ids per store user: one full 16-bit user namespace, as Debian's useradd gives. */
export const SUBID_COUNT = 65_536;

// Debian's login.defs defaults (SUB_UID_MIN, SUB_UID_MAX); they keep ranges clear of real uids.
const SUBID_MIN = 100_000;
const SUBID_MAX = 600_100_000;

/** The well-formed ranges in the text of `/etc/subuid` or `/etc/subgid`. */
export function parseSubIds(text: string): SubIdRange[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([^:\s]+):(\d+):(\d+)$/.exec(line.trim());
    return match ? [{ owner: match[1]!, start: Number(match[2]), count: Number(match[3]) }] : [];
  });
}

/**
 * Whether a user has a full range: newuidmap accepts entries under the name or the numeric uid, and a
 * shorter range cannot map ids such as nobody (65534) that Debian images use.
 */
export function hasSubIds(ranges: readonly SubIdRange[], user: string, uid: number): boolean {
  return ranges.some((r) => (r.owner === user || r.owner === String(uid)) && r.count >= SUBID_COUNT);
}

/** The lowest free block of `count` ids, as the inclusive `first`/`last` that usermod takes. */
export function findFreeSubIdRange(
  ranges: readonly SubIdRange[],
  count: number = SUBID_COUNT,
): { first: number; last: number } {
  let first = SUBID_MIN;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (first + count <= r.start) break;
    first = Math.max(first, r.start + r.count);
  }
  const last = first + count - 1;
  if (last > SUBID_MAX) {
    throw new HostError(
      'TP_HOST_SUBID_EXHAUSTED',
      `no free block of ${count} subordinate ids below ${SUBID_MAX}`,
      {
        ranges: ranges.length,
      },
    );
  }
  return { first, last };
}
