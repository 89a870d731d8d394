/** A node that can sit in one LRU list at a time; the links live on the node so moves allocate nothing. */
export interface LruNode<T> {
  prev: T | undefined;
  next: T | undefined;
  readonly size: number;
}

/** A least-recently-used list that keeps count of the bytes of its nodes. */
export class ByteLru<T extends LruNode<T>> {
  bytes = 0;
  count = 0;
  /** Most recently used. */
  private head: T | undefined = undefined;
  /** Least recently used: the next to evict. */
  private tail: T | undefined = undefined;

  /** The least recently used node. */
  oldest(): T | undefined {
    return this.tail;
  }

  /** Adds a node that is in no list, as the most recently used. */
  add(node: T): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head !== undefined) this.head.prev = node;
    this.head = node;
    this.tail ??= node;
    this.bytes += node.size;
    this.count++;
  }

  /** Removes a node that is in this list. */
  remove(node: T): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = undefined;
    this.bytes -= node.size;
    this.count--;
  }

  /** Marks a node in this list as the most recently used. */
  touch(node: T): void {
    if (node === this.head) return;
    this.remove(node);
    this.add(node);
  }
}
