/**
 * A fixed-capacity FIFO on a preallocated array: `push` is O(1) and never allocates, which is what
 * lets the request path log without ever waiting. One consumer reads with `peek` and then `drop`s
 * what it handled, so a batch that could not be delivered simply stays at the head.
 */
export class Ring<T> {
  readonly capacity: number;
  private readonly slots: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Items waiting. */
  get length(): number {
    return this.size;
  }

  /** Appends `item` at the tail; false (and nothing changes) when the ring is full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    this.slots[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return true;
  }

  /** A copy of the first `n` items (fewer if fewer wait), oldest first; the ring is unchanged. */
  peek(n: number): T[] {
    const k = Math.min(n, this.size);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) out[i] = this.slots[(this.head + i) % this.capacity] as T;
    return out;
  }

  /** Removes the first `n` items; their slots are cleared so the records can be collected. */
  drop(n: number): void {
    const k = Math.min(n, this.size);
    for (let i = 0; i < k; i++) this.slots[(this.head + i) % this.capacity] = undefined;
    this.head = (this.head + k) % this.capacity;
    this.size -= k;
  }
}
