/** The edge's HTTP cache (the CDN role locally), as a library the proxy calls for cacheable requests. */
export { EdgeCache } from './edge-cache.ts';
export { CacheError } from './errors.ts';
export type {
  CacheRequest,
  CacheResult,
  CacheStats,
  CacheStatus,
  EdgeCacheOptions,
  ServedResponse,
  StoredResponse,
  UpstreamFetch,
} from './types.ts';
