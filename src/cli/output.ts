/** Progress lines on stderr, so `--json` output on stdout stays clean for scripts. */
export function progress(prefix: string): (msg: string) => void {
  const started = Date.now();
  return (msg: string) => {
    const s = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    process.stderr.write(`${s}s ${prefix} ${msg}\n`);
  };
}

/** A plain text table with a header row, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * Exit codes scripts can rely on: 0 done, 1 failed, 2 invalid input (nothing changed), 3 not
 * authenticated or not allowed, 4 not found, 5 the control plane is unreachable or unavailable.
 */
export const EXIT = { ok: 0, failed: 1, invalid: 2, denied: 3, notFound: 4, unavailable: 5 } as const;
