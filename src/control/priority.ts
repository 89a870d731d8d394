import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Niceness of the control plane: management work (API, analytics reads, reconciler, jobs) ranks below
 * every process that serves shoppers. It still gets its share when the storefront is busy (a niced
 * process is slowed, never starved), so a deny rule pushed during an attack still goes out.
 */
export const CONTROL_NICENESS = 19;

/**
 * Lowers the CPU priority of every thread of this process to `niceness`. On Linux niceness belongs
 * to a thread, and `setpriority` on the process id changes the main thread only: V8's and libuv's
 * threads, already running, would keep serving at full priority. Threads started later inherit the
 * niceness of the thread that starts them. A thread already nicer than `niceness` is left alone.
 * Returns the thread ids it changed.
 */
export function lowerOwnPriority(niceness: number, tasks = '/proc/self/task'): number[] {
  const changed: number[] = [];
  for (const name of readdirSync(tasks)) {
    const tid = Number(name);
    // A thread can end between the listing and the call; it then needs nothing.
    let current: number;
    try {
      current = getPriority(tid);
    } catch (e) {
      if ((e as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
      throw e;
    }
    if (current >= niceness) continue;
    setPriority(tid, niceness);
    changed.push(tid);
  }
  return changed;
}
