import type { Socket } from 'node:net';
import { canonicalIp } from './ip.ts';

/**
 * Open connections per store and client IP, for each store's `limits.maxConnectionsPerIp`.
 *
 * The primary cannot apply a store's cap when it accepts a connection: the store is only known once
 * the first request's Host header is read. A worker can, and exactly: the primary hands every
 * connection of one client IP to the same worker. A connection counts for the store of its first
 * request; a later request on it for another store moves it there (and is checked against that cap).
 */
export class StoreConnections {
  private readonly open = new Map<string, Map<string, number>>();
  private readonly bySocket = new WeakMap<Socket, { store: string; ip: string }>();
  rejectedTotal = 0;

  /**
   * Counts `socket` for `store` unless that would take `ip` over `max`; returns false (and counts
   * nothing) when the cap is reached. Calling it again for the same socket and store is free.
   */
  admit(socket: Socket, store: string, ip: string, max: number): boolean {
    const held = this.bySocket.get(socket);
    if (held?.store === store) return true;
    const key = canonicalIp(ip);
    const perIp = this.open.get(store);
    if ((perIp?.get(key) ?? 0) >= max) {
      this.rejectedTotal++;
      return false;
    }
    if (held) this.release(held.store, held.ip);
    else socket.once('close', () => this.forget(socket));
    this.bySocket.set(socket, { store, ip: key });
    const m = perIp ?? new Map<string, number>();
    m.set(key, (m.get(key) ?? 0) + 1);
    this.open.set(store, m);
    return true;
  }

  /** Connections `ip` holds to `store` now. */
  count(store: string, ip: string): number {
    return this.open.get(store)?.get(canonicalIp(ip)) ?? 0;
  }

  private forget(socket: Socket): void {
    const held = this.bySocket.get(socket);
    if (!held) return;
    this.bySocket.delete(socket);
    this.release(held.store, held.ip);
  }

  private release(store: string, ip: string): void {
    const m = this.open.get(store);
    const n = m?.get(ip) ?? 0;
    if (n <= 1) m?.delete(ip);
    else m?.set(ip, n - 1);
    if (m?.size === 0) this.open.delete(store);
  }
}
