import type { SnapshotProblem, StorePolicy } from '../../contracts/snapshot.ts';
import { PolicyError } from './errors.ts';

// Parsing runs on every request, so it reads char codes instead of splitting strings, and writes IPv6
// results into module-level scratch arrays. That is safe because every caller consumes the result
// synchronously, before anything else can parse.
const groups = new Uint16Array(8);
const v6 = new Uint32Array(4);

/** Returned by `parseClient` when the address is IPv6 (its words are in `v6`). */
const IS_V6 = -1;
/** Returned by `parseClient` when the text is not an address. */
const INVALID = -2;

/** The IPv4 value of `s[from, to)` as an unsigned 32-bit number, or -1. */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // A leading zero is octal to some parsers (inet_aton) and decimal to others: refuse the ambiguity.
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  return digits === 0 || dots !== 3 ? -1 : value * 256 + part;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses the IPv6 text `s[from, to)` into `v6` (four 32-bit words, most significant first). */
function parseV6(s: string, from: number, to: number): boolean {
  let n = 0;
  let gap = -1;
  let i = from;
  if (to - from < 2) return false;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const start = i;
    let value = 0;
    while (i < to) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < to && s.charCodeAt(i) === 46) {
      // A dotted IPv4 tail fills the last two groups, as in ::ffff:1.2.3.4.
      const tail = parseV4(s, start, to);
      if (tail < 0 || n > 6) return false;
      groups[n++] = tail >>> 16;
      groups[n++] = tail & 0xffff;
      break;
    }
    if (i === start || i - start > 4 || n === 8) return false;
    groups[n++] = value;
    if (i === to) break;
    if (s.charCodeAt(i) !== 58 || i + 1 === to) return false;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    }
  }
  // "::" stands for at least one zero group; without it all eight groups must be present.
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const shift = 8 - n;
  for (let w = 0; w < 4; w++) {
    const hi = groupAt(2 * w, gap, n, shift);
    const lo = groupAt(2 * w + 1, gap, n, shift);
    v6[w] = hi * 0x10000 + lo;
  }
  return true;
}

/** The group at position `j` once the `::` at `gap` is expanded to `shift` zero groups. */
function groupAt(j: number, gap: number, n: number, shift: number): number {
  if (gap < 0 || j < gap) return groups[j]!;
  if (j < gap + shift) return 0;
  return j - shift < n ? groups[j - shift]! : 0;
}

/**
 * Parses a client address as Node reports it: an IPv4 (also IPv4-mapped IPv6) address gives its
 * 32-bit value, an IPv6 address gives IS_V6 with the words in `v6`, anything else INVALID. A zone
 * (`fe80::1%eth0`) is ignored: rules name addresses, not interfaces.
 */
function parseClient(ip: string): number {
  const v4 = parseV4(ip, 0, ip.length);
  if (v4 >= 0) return v4;
  const zone = ip.indexOf('%');
  if (!parseV6(ip, 0, zone < 0 ? ip.length : zone)) return INVALID;
  return v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff ? v6[3]! : IS_V6;
}

/** The key under which per-client state is kept: IPv4-mapped IPv6 is folded to plain IPv4. */
export function canonicalIp(ip: string): string {
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; the same client must share one key.
  if (ip.length > 7 && ip.charCodeAt(0) === 58 && ip.indexOf('.') > 0) {
    const prefix = ip.slice(0, 7).toLowerCase();
    if (prefix === '::ffff:') return ip.slice(7);
  }
  return ip;
}

const MAPPED_START = 0xffff_0000_0000n;
const MAPPED_END = 0xffff_ffff_ffffn;
const ALL_V6 = (1n << 128n) - 1n;

/** One CIDR as an inclusive range in the IPv6 space (IPv4 as IPv4-mapped). */
interface Range {
  start: bigint;
  end: bigint;
}

/** The range a CIDR covers, or a message saying what is wrong with it. */
function parseCidr(text: string): Range | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  let value: bigint;
  let bits: number;
  const v4 = parseV4(addr, 0, addr.length);
  if (v4 >= 0) {
    value = MAPPED_START + BigInt(v4);
    bits = 32;
  } else if (!addr.includes('%') && parseV6(addr, 0, addr.length)) {
    value = (BigInt(v6[0]!) << 96n) | (BigInt(v6[1]!) << 64n) | (BigInt(v6[2]!) << 32n) | BigInt(v6[3]!);
    bits = 128;
  } else {
    return `expected an IP address or CIDR like "10.0.0.0/8", got ${JSON.stringify(text)}`;
  }
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits)
      return `expected a prefix length from 0 to ${bits}, got ${JSON.stringify(text)}`;
    prefix = Number(p);
  }
  // Host bits after the prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8), as most tools do.
  const size = 1n << BigInt(bits - prefix);
  const start = value & (ALL_V6 ^ (size - 1n));
  return { start, end: start + size - 1n };
}

/** Sorted, overlapping and adjacent ranges merged, so a lookup is one binary search. */
function merge(ranges: Range[]): Range[] {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** A compiled CIDR list. */
export interface IpMatcher {
  /** Whether the address is inside one of the CIDRs; false for text that is not an address. */
  matches(ip: string): boolean;
}

/** A compiled CIDR list: IPv4 ranges as 32-bit pairs, IPv6 ranges as 4-word pairs, both sorted. */
class CidrSet implements IpMatcher {
  /** [start0, end0, start1, end1, …] of the part inside the IPv4-mapped space, as IPv4 values. */
  private readonly v4: Uint32Array;
  /** Eight words per range: start (4 words) then end (4 words), ranges outside the mapped space. */
  private readonly v6: Uint32Array;
  readonly empty: boolean;

  constructor(ranges: Range[]) {
    const merged = merge(ranges);
    const v4: number[] = [];
    const wide: Range[] = [];
    for (const r of merged) {
      // IPv4 clients are looked up in IPv4 form, so each range contributes its overlap with the
      // mapped space there (this is how ::/0 also covers IPv4 clients).
      const s = r.start > MAPPED_START ? r.start : MAPPED_START;
      const e = r.end < MAPPED_END ? r.end : MAPPED_END;
      if (s <= e) v4.push(Number(s - MAPPED_START), Number(e - MAPPED_START));
      if (r.start < MAPPED_START || r.end > MAPPED_END) wide.push(r);
    }
    this.v4 = Uint32Array.from(v4);
    this.v6 = new Uint32Array(wide.length * 8);
    wide.forEach((r, i) => {
      for (let w = 0; w < 4; w++) {
        const shift = BigInt(96 - 32 * w);
        this.v6[i * 8 + w] = Number((r.start >> shift) & 0xffff_ffffn);
        this.v6[i * 8 + 4 + w] = Number((r.end >> shift) & 0xffff_ffffn);
      }
    });
    this.empty = merged.length === 0;
  }

  matches(ip: string): boolean {
    return this.empty ? false : this.matchesParsed(parseClient(ip));
  }

  /** Whether the result of `parseClient` (with `v6` when it is IS_V6) is inside a range. */
  matchesParsed(parsed: number): boolean {
    if (parsed >= 0) return this.hasV4(parsed);
    return parsed === IS_V6 && this.hasV6();
  }

  private hasV4(x: number): boolean {
    const r = this.v4;
    let lo = 0;
    let hi = r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (x < r[mid * 2]!) hi = mid - 1;
      else if (x > r[mid * 2 + 1]!) lo = mid + 1;
      else return true;
    }
    return false;
  }

  private hasV6(): boolean {
    const r = this.v6;
    let lo = 0;
    let hi = r.length / 8 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareV6(r, mid * 8) < 0) hi = mid - 1;
      else if (compareV6(r, mid * 8 + 4) > 0) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

/** Compares the address in `v6` with the four words of `r` at `at`: negative, zero or positive. */
function compareV6(r: Uint32Array, at: number): number {
  for (let w = 0; w < 4; w++) {
    const d = v6[w]! - r[at + w]!;
    if (d !== 0) return d;
  }
  return 0;
}

function compileInto(list: readonly string[], path: string, problems: SnapshotProblem[]): CidrSet {
  const ranges: Range[] = [];
  list.forEach((text, i) => {
    const r = parseCidr(text);
    if (typeof r === 'string') problems.push({ path: `${path}[${i}]`, message: r });
    else ranges.push(r);
  });
  return new CidrSet(ranges);
}

/** Compiles IPv4/IPv6 addresses and CIDRs into a matcher; throws TP_EDGE_BAD_CIDR naming every bad value. */
export function compileCidrs(list: readonly string[], path = 'cidrs'): IpMatcher {
  const problems: SnapshotProblem[] = [];
  const set = compileInto(list, path, problems);
  if (problems.length > 0) throw new PolicyError('TP_EDGE_BAD_CIDR', problems);
  return set;
}

/** A store's IP allow and deny lists: deny wins; when an allow list exists, only it is let in. */
export class IpRules {
  private readonly allow: CidrSet;
  private readonly deny: CidrSet;
  private readonly open: boolean;

  constructor(policy: Pick<StorePolicy, 'ipAllow' | 'ipDeny'>) {
    const problems: SnapshotProblem[] = [];
    this.allow = compileInto(policy.ipAllow, 'ipAllow', problems);
    this.deny = compileInto(policy.ipDeny, 'ipDeny', problems);
    if (problems.length > 0) throw new PolicyError('TP_EDGE_BAD_CIDR', problems);
    this.open = policy.ipAllow.length === 0 && policy.ipDeny.length === 0;
  }

  /** Whether a client address may send requests to the store. */
  decide(ip: string): 'allow' | 'deny' {
    if (this.open) return 'allow';
    const parsed = parseClient(ip);
    if (this.deny.matchesParsed(parsed)) return 'deny';
    if (this.allow.empty) return 'allow';
    return this.allow.matchesParsed(parsed) ? 'allow' : 'deny';
  }
}
