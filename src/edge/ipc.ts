import type { EdgeSnapshot } from '../contracts/snapshot.ts';

/** What the edge primary tells a worker. */
export type ToWorker =
  | { readonly t: 'snapshot'; readonly snapshot: EdgeSnapshot }
  | { readonly t: 'conn'; readonly kind: 'http' | 'https'; readonly ip: string }
  | {
      readonly t: 'purge';
      readonly url?: string;
      readonly prefix?: string;
      readonly tag?: string;
      readonly host?: string;
    };

/** What a worker tells the primary. */
export type ToPrimary =
  | { readonly t: 'ready' }
  | { readonly t: 'applied'; readonly version: number }
  | { readonly t: 'apply-failed'; readonly version: number; readonly error: string }
  | { readonly t: 'closed'; readonly ip: string }
  | { readonly t: 'purged'; readonly removed: number };
