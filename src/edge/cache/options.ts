import { CacheError } from './errors.ts';
import type { EdgeCacheOptions } from './types.ts';

/** Throws one CacheError naming every invalid option. */
export function checkOptions(o: EdgeCacheOptions): void {
  const problems: string[] = [];
  const positive = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
  if (!positive(o.maxBytes))
    problems.push(`maxBytes: expected a positive integer, got ${JSON.stringify(o.maxBytes)}`);
  if (o.diskDir !== undefined && !positive(o.maxDiskBytes))
    problems.push(
      `maxDiskBytes: expected a positive integer with diskDir, got ${JSON.stringify(o.maxDiskBytes)}`,
    );
  if (o.diskDir === undefined && o.maxDiskBytes !== undefined)
    problems.push('maxDiskBytes: given without diskDir');
  if (o.diskDir === '') problems.push('diskDir: expected a directory, got ""');
  if (problems.length > 0)
    throw new CacheError('TP_CACHE_OPTIONS', `edge cache: ${problems.join('; ')}`, { problems });
}
