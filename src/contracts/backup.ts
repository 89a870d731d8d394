import { z } from 'zod';
import { EnvironmentName } from './fleet.ts';
import { StoreName } from './stack.ts';

/*
 * Backups (version 1). A backup is one snapshot in the store's restic repository holding the
 * database dump, the media volume and `backup.json` (a BackupManifest): what the backup contained
 * when it was taken, so verification can compare a restore against it.
 */

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, {
  error: (i) => `expected a sha256 hex digest, got ${JSON.stringify(i.input)}`,
});

/** One table's data as it left the database: rows dumped and the digest of their INSERT lines. */
export const TableDigest = z.strictObject({
  rows: z.int().min(0),
  sha256: Sha256,
});
export type TableDigest = z.infer<typeof TableDigest>;

/** The database dump: its size and digest, and a digest per table taken while it streamed. */
export const DumpDigest = z.strictObject({
  database: z.string(),
  bytes: z.int().min(0),
  sha256: Sha256,
  /** mariadb-dump wrote its closing line: a dump without it was cut short. */
  complete: z.boolean(),
  tables: z.record(z.string(), TableDigest),
});
export type DumpDigest = z.infer<typeof DumpDigest>;

/** One file of the media volume (path relative to the volume, POSIX separators). */
export const MediaEntry = z.strictObject({
  path: z.string().min(1),
  size: z.int().min(0),
  sha256: Sha256,
});
export type MediaEntry = z.infer<typeof MediaEntry>;

/** Every file of the media volume, sorted by path. */
export const MediaManifest = z.strictObject({
  files: z.int().min(0),
  bytes: z.int().min(0),
  entries: z.array(MediaEntry),
});
export type MediaManifest = z.infer<typeof MediaManifest>;

/** `backup.json`: what a backup holds, written into the snapshot beside the dump. */
export const BackupManifest = z.strictObject({
  format: z.literal(1),
  store: StoreName,
  environment: EnvironmentName,
  /** The stack version the store ran when the backup was taken (null when not known). */
  stackVersion: z.int().min(1).nullable(),
  /** The store's stack spec at that version: its configuration, restored with it. */
  spec: z.unknown(),
  takenAt: z.iso.datetime(),
  database: DumpDigest,
  media: MediaManifest,
  /**
   * The store user's ids when the media was read: files keep their host owners in the snapshot, and
   * a restore for another store user moves them into that user's ranges.
   */
  owner: z.strictObject({
    uid: z.int().min(0),
    gid: z.int().min(0),
    subuidStart: z.int().min(0),
    subgidStart: z.int().min(0),
  }),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** The result of restoring a backup into a throwaway database and comparing it with its manifest. */
export const Verification = z.strictObject({
  status: z.enum(['passed', 'failed']),
  checkedAt: z.iso.datetime(),
  durationMs: z.int().min(0),
  tables: z.int().min(0),
  rows: z.int().min(0),
  mediaFiles: z.int().min(0),
  /** Every difference found, each naming what differs and both values; empty when passed. */
  problems: z.array(z.string()),
});
export type Verification = z.infer<typeof Verification>;

/** What the agent reports for a backup it took: the snapshot and what went into it. */
export const BackupTaken = z.strictObject({
  /** The restic snapshot id (64 hex digits). */
  snapshotId: z.string().regex(/^[0-9a-f]{64}$/),
  takenAt: z.iso.datetime(),
  /** Bytes the backup restores to (database dump, media, manifest). */
  sizeBytes: z.int().min(0),
  /** Bytes this backup added to the repository after deduplication and compression. */
  addedBytes: z.int().min(0),
  durationMs: z.int().min(0),
  dumpSha256: Sha256,
  tables: z.int().min(0),
  mediaFiles: z.int().min(0),
});
export type BackupTaken = z.infer<typeof BackupTaken>;

/** A backup as the API and `triplane backup list --json` show it. */
export const BackupRecord = z.strictObject({
  id: z.string(),
  store: StoreName,
  environment: EnvironmentName,
  /** queued → running → succeeded | failed; `pruned` once retention removed it from the repository. */
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'pruned']),
  /** Why: scheduled, on demand, or the safety backup before a restore. */
  reason: z.enum(['scheduled', 'manual', 'pre-restore']),
  createdAt: z.iso.datetime(),
  /** The snapshot and its figures, once taken. */
  snapshot: BackupTaken.nullable(),
  /** The last verification, null until one finished. */
  verification: Verification.nullable(),
  /** pending while a verification is queued or running. */
  verifying: z.boolean(),
  error: z.string().nullable(),
});
export type BackupRecord = z.infer<typeof BackupRecord>;
