/**
 * How management work runs on a host, whichever plane starts it: the agent's backup commands and the
 * control plane's jobs process both take only what the storefront leaves.
 */

/** Niceness of management work: the lowest, below every process that serves shoppers. */
export const MANAGEMENT_NICENESS = 19;

/**
 * The argv prefix that runs a command as management work: lowest niceness, idle I/O class, and the
 * idle scheduling policy. Niceness alone ranks who gets the CPU, but a nice-19 task that holds a core
 * keeps it until its slice ends when a storefront process wakes there; a request crosses the edge,
 * Varnish, nginx, PHP-FPM, Redis and MariaDB, and may wait so at each. The kernel preempts a
 * SCHED_IDLE task at once for any normal one (bench/wakeup-latency.ts: a 2 ms task woken 50 times a
 * second beside two busy loops, p99 2.4 ms alone, 5.7 ms beside nice-19 loops, 2.2 ms beside
 * SCHED_IDLE ones). `nice`, `ionice` and `chrt` exec what follows, so the command keeps its pid; all
 * three are in Debian's essential packages, on every host and in every image.
 */
export const LOWEST_PRIORITY: readonly string[] = Object.freeze([
  ...['nice', '-n', String(MANAGEMENT_NICENESS)],
  ...['ionice', '-c', '3'],
  ...['chrt', '--idle', '0'],
]);
