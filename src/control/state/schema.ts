import { z } from 'zod';

/** The environments a store can have. */
export const EnvironmentName = z.enum(['production', 'staging']);
/** The environments a store can have. */
export type EnvironmentName = z.infer<typeof EnvironmentName>;

/** What a user may do in one store; platform admins may do everything everywhere. */
export const StoreRole = z.enum(['owner', 'developer', 'viewer']);
/** What a user may do in one store. */
export type StoreRole = z.infer<typeof StoreRole>;

/** Where a job is in its life: queued → running → succeeded | failed (or queued again for a retry). */
export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);
/** Where a job is in its life. */
export type JobStatus = z.infer<typeof JobStatus>;

// Row types as the tables hold them. Times are epoch milliseconds (bigint columns), booleans are 0/1
// integers and JSON is canonical text: the one representation both SQLite and PostgreSQL store alike.

export interface StoresTable {
  id: string;
  display_name: string;
  created_at: number;
}

export interface EnvironmentsTable {
  store_id: string;
  name: EnvironmentName;
  /** Last stack version handed out; the row is the lock that makes `apply` hand out each one once. */
  stack_version: number;
  created_at: number;
}

export interface StackVersionsTable {
  store_id: string;
  environment: EnvironmentName;
  version: number;
  spec: string;
  created_by: string;
  created_at: number;
}

export interface JoinTokensTable {
  hash: string;
  created_at: number;
  expires_at: number;
  used_by: string | null;
}

export interface NodesTable {
  id: string;
  name: string;
  labels: string;
  token_hash: string;
  observed: string | null;
  observed_at: number | null;
  last_seen: number | null;
  created_at: number;
}

export interface NodeDesiredTable {
  node_id: string;
  version: number;
  desired: string;
  updated_at: number;
}

export interface PoliciesTable {
  store_id: string;
  version: number;
  document: string;
  updated_by: string;
  updated_at: number;
}

export interface DomainsTable {
  hostname: string;
  store_id: string;
  created_at: number;
}

export interface CertificatesTable {
  hostname: string;
  cert_pem: string;
  key_pem: string;
  not_after: number;
  updated_at: number;
}

export interface UsersTable {
  id: string;
  name: string;
  platform_admin: number;
  created_at: number;
}

export interface StoreRolesTable {
  user_id: string;
  store_id: string;
  role: StoreRole;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditEventsTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  store_id: string | null;
  before: string | null;
  after: string | null;
}

export interface StoreEventsTable {
  id: string;
  at: number;
  store_id: string;
  kind: string;
  message: string;
  data: string | null;
}

export interface EdgeSnapshotHeadTable {
  /** Always 1: the single row publishers lock so that versions are handed out one at a time. */
  id: number;
  version: number;
  digest: string;
}

export interface EdgeSnapshotsTable {
  version: number;
  snapshot: string;
  digest: string;
  created_at: number;
}

export interface EdgeAcksTable {
  id: string;
  edge_id: string;
  version: number;
  accepted: number;
  errors: string;
  at: number;
}

export interface AccessLogsTable {
  id: string;
  at: number;
  store_id: string | null;
  status: number;
  path: string;
  record: string;
}

export interface JobsTable {
  id: string;
  kind: string;
  payload: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_after: number;
  lease_until: number | null;
  timeout_ms: number;
  worker_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  result: string | null;
}

export type BackupStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'pruned';

export interface BackupsTable {
  id: string;
  store_id: string;
  environment: EnvironmentName;
  status: BackupStatus;
  reason: 'scheduled' | 'manual' | 'pre-restore';
  node_id: string | null;
  created_at: number;
  /** When the snapshot's dump began (epoch ms), once taken. */
  taken_at: number | null;
  /** BackupTaken as JSON, once taken. */
  snapshot: string | null;
  verifying: number;
  /** Verification as JSON. */
  verification: string | null;
  error: string | null;
}

/** Stores the edge answers with a maintenance page (a restore is writing them). */
export interface MaintenanceTable {
  store_id: string;
  reason: string;
  since: number;
}

/** Every table of the control plane's database, for Kysely. */
export interface Database {
  stores: StoresTable;
  environments: EnvironmentsTable;
  stack_versions: StackVersionsTable;
  join_tokens: JoinTokensTable;
  nodes: NodesTable;
  node_desired: NodeDesiredTable;
  policies: PoliciesTable;
  domains: DomainsTable;
  certificates: CertificatesTable;
  users: UsersTable;
  store_roles: StoreRolesTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  store_events: StoreEventsTable;
  edge_snapshot_head: EdgeSnapshotHeadTable;
  edge_snapshots: EdgeSnapshotsTable;
  edge_acks: EdgeAcksTable;
  access_logs: AccessLogsTable;
  jobs: JobsTable;
  backups: BackupsTable;
  maintenance: MaintenanceTable;
}
