import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;

/** Parses "256mb", "1g", "512k" into bytes (binary units); undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text.trim());
  if (!m) return undefined;
  const factor = SIZE_UNITS[m[2]!.toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

/** A size written like "256mb" or "2g"; kept as the text the user wrote. */
export const Size = z.string().refine((s) => parseSize(s) !== undefined && parseSize(s)! > 0, {
  error: (iss) => `expected a size like "256mb", got ${JSON.stringify(iss.input)}`,
});

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+)\s*(ms|s|m|h|d)$/;

/** Parses "300s", "5m", "2h" into milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/** A duration written like "300s", "5m" or "1h". */
export const Duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  error: (iss) => `expected a duration like "300s" or "5m", got ${JSON.stringify(iss.input)}`,
});

/** Formats bytes as the largest whole binary unit Podman and Redis understand ("256m", "1g"). */
export function formatSizeShort(bytes: number): string {
  for (const [unit, factor] of [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}b`;
}
