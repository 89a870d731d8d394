/**
 * Freezes a value and everything reachable from it. A snapshot is shared by the proxy, the stats and
 * whoever calls `current()`; freezing makes "immutable" a property of the object, not a promise.
 * Snapshots are parsed JSON trees, so there are no cycles to guard against.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
