/**
 * A transaction's variables. Request data is held as Latin-1 strings (one char per byte) so that
 * transformations and operators see the bytes ModSecurity sees.
 */

/** One key and value of a collection, e.g. `ARGS:q` = `shoes`. */
export interface Entry {
  readonly key: string;
  readonly value: string;
}

/**
 * A multi-valued collection (ARGS may hold `a` twice) whose keys compare case-insensitively, as
 * ModSecurity's collections do; insertion order is kept for the order rules see values in. An index
 * by lower-cased key makes the many TX lookups of the CRS constant-time.
 */
export class Collection {
  entries: Entry[] = [];
  /**
   * Entries by lower-cased key, built on the first lookup by key: MATCHED_VARS gets values added
   * after every matching rule and is emptied before the next, and is hardly ever read by key.
   */
  private index: Map<string, Entry[]> | undefined;

  add(key: string, value: string): void {
    const e = { key, value };
    this.entries.push(e);
    if (this.index) indexEntry(this.index, e);
  }

  /** Replaces every value of `key` by one. */
  set(key: string, value: string): void {
    if (this.keyed().has(key.toLowerCase())) this.remove(key);
    this.add(key, value);
  }

  remove(key: string): void {
    const k = key.toLowerCase();
    const index = this.keyed();
    const gone = index.get(k);
    if (!gone) return;
    index.delete(k);
    this.entries = this.entries.filter((e) => !gone.includes(e));
  }

  /** Empties the collection. */
  clear(): void {
    // MATCHED_VARS is cleared before every rule and is almost always empty already.
    if (this.entries.length === 0) return;
    this.entries = [];
    this.index = undefined;
  }

  /** The first value of `key`, or undefined. */
  get(key: string): string | undefined {
    return this.keyed().get(key.toLowerCase())?.[0]?.value;
  }

  /** Every entry of `key` (`lowerKey` already lower-cased). */
  byLowerKey(lowerKey: string): readonly Entry[] {
    return this.keyed().get(lowerKey) ?? NONE;
  }

  private keyed(): Map<string, Entry[]> {
    if (this.index === undefined) {
      const index = new Map<string, Entry[]>();
      for (const e of this.entries) indexEntry(index, e);
      this.index = index;
    }
    return this.index;
  }
}

function indexEntry(index: Map<string, Entry[]>, e: Entry): void {
  const k = e.key.toLowerCase();
  const list = index.get(k);
  if (list) list.push(e);
  else index.set(k, [e]);
}

const NONE: readonly Entry[] = Object.freeze([]);

/** Collection names (upper-case) numbered in order of first use, for lookups by array index. */
const slots = new Map<string, number>();

/**
 * The slot of a collection name (upper-case): compiled targets hold it, so a rule reaches its
 * collections by index rather than by name on every evaluation.
 */
export function collectionSlot(upperName: string): number {
  let slot = slots.get(upperName);
  if (slot === undefined) {
    slot = slots.size;
    slots.set(upperName, slot);
  }
  return slot;
}

/** The variables of one transaction, by upper-case collection name. */
export class Variables {
  private readonly map = new Map<string, Collection>();
  private readonly bySlot: (Collection | undefined)[] = [];
  private readonly scalars = new Map<string, string>();

  /** The collection `name` (upper-case), created empty on first use. */
  collection(name: string): Collection {
    let c = this.map.get(name);
    if (!c) {
      const upper = name.toUpperCase();
      c = this.map.get(upper);
      if (!c) {
        c = new Collection();
        this.map.set(upper, c);
        this.bySlot[collectionSlot(upper)] = c;
      }
    }
    return c;
  }

  /** The collection `name` (upper-case) if anything created it. */
  existing(name: string): Collection | undefined {
    return this.map.get(name);
  }

  /** `existing` by slot (see collectionSlot). */
  existingAt(slot: number): Collection | undefined {
    return this.bySlot[slot];
  }

  /** A single-valued variable such as REQUEST_METHOD, or undefined when it was never set. */
  scalar(name: string): string | undefined {
    return this.scalars.get(name.toUpperCase());
  }

  /** `scalar` for a name already upper-case (the engine's own names and compiled targets). */
  scalarUpper(name: string): string | undefined {
    return this.scalars.get(name);
  }

  setScalar(name: string, value: string): void {
    this.scalars.set(name.toUpperCase(), value);
  }

  /** `setScalar` for a name already upper-case. */
  setScalarUpper(name: string, value: string): void {
    this.scalars.set(name, value);
  }

  hasCollection(name: string): boolean {
    return this.map.has(name.toUpperCase());
  }
}
