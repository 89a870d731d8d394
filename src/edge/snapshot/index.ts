/** Where the edge gets its snapshot from and how it keeps the last good one (testing helpers excluded). */
export { ControlSource, type ControlSourceOptions, type ControlSourceStats } from './control-source.ts';
export { messageOf, SnapshotError, type SnapshotErrorCode } from './errors.ts';
export {
  FileSource,
  type FileSourceOptions,
  type FileSourceStats,
  parseSnapshotText,
} from './file-source.ts';
export { deepFreeze } from './freeze.ts';
export { lastKnownGoodPath, readLastKnownGood, writeLastKnownGood } from './last-known-good.ts';
export {
  SnapshotManager,
  type SnapshotManagerOptions,
  type SnapshotRejection,
  type SnapshotStats,
} from './manager.ts';
export {
  type OnSnapshot,
  readVersion,
  type SnapshotAck,
  type SnapshotLog,
  type SnapshotSource,
  silentLog,
} from './source.ts';
