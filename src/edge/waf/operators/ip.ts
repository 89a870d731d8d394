/**
 * `@ipMatch` and `@ipMatchFromFile`: whether the value is an IP address inside one of the listed
 * addresses or CIDR blocks. Parsing follows libmodsecurity's radix tree loader (`msc_tree.cc`):
 * entries are comma-separated, `#` starts a comment, a prefix of `/0` or a malformed entry fails the
 * load, and IPv6 `/128` written out is refused (ModSecurity keeps the `/128` on the address and
 * `inet_pton` then rejects it) — we refuse the same entries with a message instead of failing late.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CompiledOperator } from '../types.ts';
import { OperatorParamError } from './errors.ts';
import { MATCH, NO_MATCH } from './macro.ts';

/** IPv4 in dotted-quad form as glibc's `inet_pton` reads it (no leading zeros, no short forms). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** IPv6 as glibc's `inet_pton` reads it: hex groups, one `::`, an optional dotted IPv4 tail. */
export function parseIPv6(s: string): Uint8Array | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (text: string): number[] | undefined => {
    if (text === '') return [];
    const out: number[] = [];
    const items = text.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(Number.parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** A binary trie of prefixes; a lookup matches when any prefix on the address's path ends a block. */
class PrefixSet {
  private readonly root: PrefixNode = { next: [undefined, undefined], end: false };
  add(bytes: Uint8Array, bits: number): void {
    let node = this.root;
    for (let i = 0; i < bits && !node.end; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      node = node.next[bit] ??= { next: [undefined, undefined], end: false };
    }
    node.end = true;
  }
  has(bytes: Uint8Array): boolean {
    let node: PrefixNode | undefined = this.root;
    for (let i = 0; node !== undefined; i++) {
      if (node.end) return true;
      if (i === bytes.length * 8) return false;
      node = node.next[(bytes[i >> 3]! >> (7 - (i & 7))) & 1];
    }
    return false;
  }
}
interface PrefixNode {
  readonly next: Array<PrefixNode | undefined>;
  end: boolean;
}

/** The loaded blocks of one operator, per family. */
export class IpBlocks {
  private readonly v4 = new PrefixSet();
  private readonly v6 = new PrefixSet();

  /** Adds the entries of a parameter or file text; throws `OperatorParamError` on the first bad one. */
  addText(text: string): void {
    for (const rawLine of text.split('\n')) {
      const hash = rawLine.indexOf('#');
      const line = hash === -1 ? rawLine : rawLine.slice(0, hash);
      for (const entry of line.split(',')) {
        if (entry !== '') this.addEntry(entry);
      }
    }
  }

  private addEntry(entry: string): void {
    const v6 = entry.includes(':');
    const max = v6 ? 128 : 32;
    const slash = entry.indexOf('/');
    let address = entry;
    let bits = max;
    if (slash !== -1) {
      const mask = entry.slice(slash + 1);
      const m = /^[ \t\n\v\f\r]*[+-]?[0-9]+/.exec(mask);
      bits = m === null ? 0 : Number.parseInt(m[0].trim(), 10);
      if (mask.includes(v6 ? ':' : '.') || !(bits > 0 && bits <= max)) {
        throw new OperatorParamError(`"${entry}" has an invalid prefix length (1-${max})`);
      }
      if (!(v6 && bits === 128)) address = entry.slice(0, slash);
    }
    const bytes = v6 ? parseIPv6(address) : parseIPv4(address);
    if (bytes === undefined) throw new OperatorParamError(`"${entry}" is not an IP address or block`);
    (v6 ? this.v6 : this.v4).add(bytes, bits);
  }

  /** Whether the value is an address inside one of the blocks (a non-address never is). */
  has(value: string): boolean {
    if (value.includes(':')) {
      const b = parseIPv6(value);
      return b !== undefined && this.v6.has(b);
    }
    const b = parseIPv4(value);
    return b !== undefined && this.v4.has(b);
  }
}

function operator(name: string, blocks: IpBlocks): CompiledOperator {
  return { name, dynamic: false, run: (value) => (blocks.has(value) ? MATCH : NO_MATCH) };
}

/** `@ipMatch 10.0.0.0/8,::1`. */
export function ipMatch(param: string): CompiledOperator {
  const blocks = new IpBlocks();
  blocks.addText(param);
  return operator('ipMatch', blocks);
}

/** `@ipMatchFromFile file` (alias `@ipMatchF`): one or more entries per line, relative to the rule's file. */
export function ipMatchFromFile(name: string, param: string, baseDir: string): CompiledOperator {
  if (/^https?:\/\//i.test(param))
    throw new OperatorParamError('remote lists are not supported; use a local file');
  const blocks = new IpBlocks();
  blocks.addText(readDataFile(param, baseDir));
  return operator(name, blocks);
}

/** Reads a data file named relative to the rule's directory as bytes (Latin-1, one char per byte). */
export function readDataFile(param: string, baseDir: string): string {
  const path = resolve(baseDir, param);
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    throw new OperatorParamError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
