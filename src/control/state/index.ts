/**
 * The control plane's state store: everything `triplane control` remembers, in SQLite
 * (`<dataDir>/control.sqlite`, one machine) or PostgreSQL (a `postgres://` URL, shared by several
 * control nodes), behind one set of repositories and one set of migrations.
 *
 * Tables (times are epoch milliseconds, JSON is canonical text, booleans are 0/1):
 * - `stores`, `environments` (production | staging per store, holding the last stack version),
 *   `stack_versions` (every applied stack spec, versions 1, 2 … per store and environment).
 * - `join_tokens` (hashes of one-time registration secrets), `nodes` (agents: labels, agent token
 *   hash, last observed report, last seen), `node_desired` (what each node should run, versioned).
 * - `policies` (each store's edge policy, versioned), `domains` (host name → store, unique) and
 *   `certificates` (PEM per host name, with its expiry).
 * - `users`, `store_roles` (owner | developer | viewer per user and store), `api_tokens` (SHA-256 of
 *   `tp_…` secrets; the secret is shown once).
 * - `audit_events` and `store_events` (no foreign keys: they outlive what they mention).
 * - `edge_snapshot_head` (one row: the latest version and its content digest), `edge_snapshots`
 *   (immutable, versioned) and `edge_acks` (what each edge answered).
 * - `access_logs` (edge records, pruned by age and count) and `jobs` (the work queue; jobs of kind
 *   `node:<id>` are tasks an agent claims and runs on its node).
 * - `backups` (each store backup from queued to verified, with its restic snapshot's figures) and
 *   `maintenance` (stores the edge answers with 503 while a restore writes them).
 *
 * Concurrency guarantees, on both databases:
 * - Version counters (stack versions, policy versions, desired-state versions, snapshot versions) are
 *   bumped by one statement on a row that PostgreSQL locks until commit (SQLite takes its database
 *   write lock), so concurrent writers get distinct, consecutive versions — never a duplicate.
 * - A join token is spent by a conditional update: of two registrations racing with one token, one
 *   wins. Snapshot publishing locks the head row, so identical content never gets two versions.
 * - `jobs.claim` is one UPDATE whose PostgreSQL subquery uses FOR UPDATE SKIP LOCKED: no two claimers
 *   get the same job; `complete`/`fail` only succeed for the worker that holds the job.
 * - `state.transaction(fn)` runs `fn` with repositories bound to one transaction (a mutation and its
 *   audit event commit together). PostgreSQL runs READ COMMITTED with explicit row locks; SQLite
 *   transactions begin IMMEDIATE and wait up to busy_timeout (5 s) for the write lock.
 * - Migrations run at open, inside a transaction and under Kysely's migration lock (an advisory lock
 *   on PostgreSQL, the write lock on SQLite), so nodes starting together migrate once.
 *
 * SQLite is for one control process: several processes may share the file, but two States on the
 * same file in one process would block each other (better-sqlite3 waits synchronously).
 * Reads return null for a missing row; mutations fail with a coded `StateError`.
 */
export type { AccessLogQuery } from './access-logs.ts';
export type { AuditEvent, EventFilter, StoreEvent } from './audit.ts';
export type { Domain, StoredCertificate } from './domains.ts';
export { StateError, type StateErrorCode } from './errors.ts';
export type { DialectName } from './executor.ts';
export { type Job, type NewJob, retryDelayMs } from './jobs.ts';
export type { JsonValue } from './json.ts';
export type { Node, NodeDesired } from './nodes.ts';
export type { PolicyDocument } from './policies.ts';
export { EnvironmentName, JobStatus, StoreRole } from './schema.ts';
export type { EdgeAck, SnapshotContent } from './snapshots.ts';
export type { StackVersion } from './stacks.ts';
export {
  type DatabaseTarget,
  type OpenStateOptions,
  openState,
  type Repositories,
  redactUrl,
  resolveDatabase,
  type State,
} from './state.ts';
export type { Environment, Store } from './stores.ts';
export type { ApiToken, Principal, StoreGrant, User } from './users.ts';
