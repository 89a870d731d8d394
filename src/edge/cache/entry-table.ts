import type { DiskFiles } from './disk.ts';
import type { Entry } from './entry.ts';
import { variantKey } from './headers.ts';
import { ByteLru } from './lru.ts';
import type { CacheRequest } from './types.ts';

/** The variants stored for one URL, all keyed by the same Vary header names. */
interface Resource {
  vary: string;
  varyNames: readonly string[];
  variants: Map<string, Entry>;
}

/** How much memory and disk the table may use. */
export interface TableLimits {
  maxBytes: number;
  maxDiskBytes: number;
}

/**
 * Every entry of the cache: found by host, path and variant or by tag, kept in a memory LRU bounded
 * by bytes and, when there is a disk tier, moved to a disk LRU instead of being dropped.
 */
export class EntryTable {
  count = 0;
  evictions = 0;
  diskEvictions = 0;
  /** Increases with every purge: a fetch that started before a purge must not store what it got. */
  purges = 0;
  readonly memory = new ByteLru<Entry>();
  readonly disk = new ByteLru<Entry>();
  private readonly hosts = new Map<string, Map<string, Resource>>();
  private readonly tags = new Map<string, Set<Entry>>();

  constructor(
    private readonly limits: TableLimits,
    private readonly files: DiskFiles | undefined,
  ) {}

  /** The entry of the variant `headers` select, in whichever tier it is. */
  find(host: string, path: string, headers: CacheRequest['headers']): Entry | undefined {
    const resource = this.hosts.get(host)?.get(path);
    return resource === undefined
      ? undefined
      : resource.variants.get(variantKey(resource.varyNames, headers));
  }

  /** The variant key `headers` select under the Vary names stored for the URL ('' when none are). */
  variantOf(host: string, path: string, headers: CacheRequest['headers']): string {
    const resource = this.hosts.get(host)?.get(path);
    return resource === undefined ? '' : variantKey(resource.varyNames, headers);
  }

  /**
   * Stores an entry in memory, replacing its variant; an entry whose Vary names differ from the URL's
   * stored ones replaces all of them. Entries larger than the memory budget are not stored.
   */
  insert(entry: Entry): boolean {
    if (entry.size > this.limits.maxBytes) return false;
    const vary = entry.varyNames.join(',');
    const existing = this.hosts.get(entry.host)?.get(entry.path);
    if (existing !== undefined && existing.vary !== vary) this.removeAll([...existing.variants.values()]);
    const replaced = existing?.variants.get(entry.variant);
    if (replaced !== undefined) this.remove(replaced);

    const paths = upsert(this.hosts, entry.host, () => new Map<string, Resource>());
    const resource = upsert(paths, entry.path, () => ({
      vary,
      varyNames: entry.varyNames,
      variants: new Map(),
    }));
    resource.variants.set(entry.variant, entry);
    for (const tag of entry.tags) upsert(this.tags, tag, () => new Set<Entry>()).add(entry);
    this.count++;
    entry.tier = 'memory';
    this.memory.add(entry);
    this.evictMemory();
    return true;
  }

  /** Marks an entry whose body is in memory as just used; one still being written to disk returns to memory. */
  touch(entry: Entry): void {
    if (entry.tier === 'memory') this.memory.touch(entry);
    else if (entry.tier === 'spilling') {
      entry.tier = 'memory';
      this.memory.add(entry);
      this.evictMemory();
    }
  }

  /** The entry with its body in memory, read back from disk if need be; `undefined` if that failed. */
  load(entry: Entry): Promise<Entry | undefined> | Entry | undefined {
    if (entry.body !== undefined) {
      this.touch(entry);
      return entry;
    }
    if (entry.tier !== 'disk' && entry.tier !== 'reading') return undefined;
    entry.reading ??= this.readBack(entry);
    return entry.reading;
  }

  /** Removes an entry from the index, its tags and its tier. */
  remove(entry: Entry): void {
    if (entry.tier === 'none') return;
    const paths = this.hosts.get(entry.host);
    const resource = paths?.get(entry.path);
    if (paths !== undefined && resource?.variants.get(entry.variant) === entry) {
      resource.variants.delete(entry.variant);
      if (resource.variants.size === 0) paths.delete(entry.path);
      if (paths.size === 0) this.hosts.delete(entry.host);
    }
    for (const tag of entry.tags) {
      const set = this.tags.get(tag);
      set?.delete(entry);
      if (set?.size === 0) this.tags.delete(tag);
    }
    if (entry.tier === 'memory') this.memory.remove(entry);
    if (entry.tier === 'disk' || entry.tier === 'reading') {
      this.disk.remove(entry);
      this.files?.remove(entry.file!);
    }
    // A spilling entry's file is deleted when its write finishes and finds the entry gone.
    entry.tier = 'none';
    this.count--;
  }

  /** Removes entries for a purge, so fetches in flight do not store what they got; returns how many. */
  purge(entries: Iterable<Entry>): number {
    this.purges++;
    return this.removeAll(entries);
  }

  /** Removes entries; returns how many there were. */
  removeAll(entries: Iterable<Entry>): number {
    let n = 0;
    for (const e of entries) {
      this.remove(e);
      n++;
    }
    return n;
  }

  /** Every variant of one URL. */
  byUrl(host: string, path: string): Entry[] {
    return [...(this.hosts.get(host)?.get(path)?.variants.values() ?? [])];
  }

  /** Every variant of the URLs of `host` whose path starts with `prefix`. */
  byPrefix(host: string, prefix: string): Entry[] {
    const out: Entry[] = [];
    for (const [path, resource] of this.hosts.get(host) ?? []) {
      if (path.startsWith(prefix)) out.push(...resource.variants.values());
    }
    return out;
  }

  /** Every entry whose response carried `tag`. */
  byTag(tag: string): Entry[] {
    return [...(this.tags.get(tag) ?? [])];
  }

  private evictMemory(): void {
    while (this.memory.bytes > this.limits.maxBytes) {
      const victim = this.memory.oldest()!;
      this.evictions++;
      // Bodies waiting to be written still take memory: past a quarter of the budget (and one body), a
      // slow disk makes evicted entries drop instead of piling up, so memory stays near 1.25 × maxBytes.
      const pending = this.files?.pendingBytes ?? 0;
      const spill =
        this.files !== undefined &&
        victim.size <= this.limits.maxDiskBytes &&
        (pending === 0 || pending + victim.bodyLength <= this.limits.maxBytes / 4);
      if (spill) this.spill(victim, this.files);
      else this.remove(victim);
    }
  }

  private spill(entry: Entry, files: DiskFiles): void {
    this.memory.remove(entry);
    const name = files.newName();
    entry.tier = 'spilling';
    entry.file = name;
    void files.write(name, entry.body!).then((written) => {
      const current = entry.tier === 'spilling' && entry.file === name;
      if (!current) {
        if (written) files.remove(name);
      } else if (!written) {
        this.remove(entry);
      } else {
        entry.tier = 'disk';
        entry.dropBody();
        this.disk.add(entry);
        this.evictDisk();
      }
    });
  }

  private evictDisk(): void {
    while (this.disk.bytes > this.limits.maxDiskBytes) {
      this.remove(this.disk.oldest()!);
      this.diskEvictions++;
    }
  }

  private async readBack(entry: Entry): Promise<Entry | undefined> {
    entry.tier = 'reading';
    const name = entry.file!;
    const body = await this.files!.read(name, entry.bodyLength);
    entry.reading = undefined;
    // Purged or evicted from disk while it was being read.
    if (entry.tier !== 'reading') return undefined;
    if (body === undefined) {
      this.remove(entry);
      return undefined;
    }
    this.disk.remove(entry);
    this.files!.remove(name);
    entry.file = undefined;
    entry.body = body;
    entry.tier = 'memory';
    this.memory.add(entry);
    this.evictMemory();
    return entry;
  }
}

/** The value of `key`, added by `make` if there was none. */
function upsert<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
