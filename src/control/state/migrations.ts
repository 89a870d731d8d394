import {
  type ForeignKeyConstraintBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  sql,
} from 'kysely';

// One set of migrations for both databases: only the schema builder's portable column types (text,
// integer, bigint), constraints both engines enforce, and no engine-specific defaults. Migrations are
// never edited once released; a change is a new entry with the next number.

// Rows that belong to a store, node or user go with it.
const cascade = (cb: ForeignKeyConstraintBuilder) => cb.onDelete('cascade');

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('stores')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('environments')
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('stack_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('environments_pk', ['store_id', 'name'])
      .addForeignKeyConstraint('environments_store_fk', ['store_id'], 'stores', ['id'], cascade)
      .addCheckConstraint('environments_name_check', sql`name in ('production', 'staging')`)
      .execute();

    await db.schema
      .createTable('stack_versions')
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('stack_versions_pk', ['store_id', 'environment', 'version'])
      .addForeignKeyConstraint(
        'stack_versions_environment_fk',
        ['store_id', 'environment'],
        'environments',
        ['store_id', 'name'],
        cascade,
      )
      .execute();

    await db.schema
      .createTable('join_tokens')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_by', 'text')
      .execute();

    await db.schema
      .createTable('nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('observed', 'text')
      .addColumn('observed_at', 'bigint')
      .addColumn('last_seen', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('node_desired')
      .addColumn('node_id', 'text', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('desired', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('node_desired_node_fk', ['node_id'], 'nodes', ['id'], cascade)
      .execute();

    await db.schema
      .createTable('policies')
      .addColumn('store_id', 'text', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('policies_store_fk', ['store_id'], 'stores', ['id'], cascade)
      .execute();

    await db.schema
      .createTable('domains')
      .addColumn('hostname', 'text', (c) => c.primaryKey())
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('domains_store_fk', ['store_id'], 'stores', ['id'], cascade)
      .execute();
    await db.schema.createIndex('domains_store_idx').on('domains').column('store_id').execute();

    await db.schema
      .createTable('certificates')
      .addColumn('hostname', 'text', (c) => c.primaryKey())
      .addColumn('cert_pem', 'text', (c) => c.notNull())
      .addColumn('key_pem', 'text', (c) => c.notNull())
      .addColumn('not_after', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('platform_admin', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('store_roles')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_roles_pk', ['user_id', 'store_id'])
      .addForeignKeyConstraint('store_roles_user_fk', ['user_id'], 'users', ['id'], cascade)
      .addForeignKeyConstraint('store_roles_store_fk', ['store_id'], 'stores', ['id'], cascade)
      .addCheckConstraint('store_roles_role_check', sql`role in ('owner', 'developer', 'viewer')`)
      .execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addForeignKeyConstraint('api_tokens_user_fk', ['user_id'], 'users', ['id'], cascade)
      .execute();

    // Audit and store events keep no foreign key: they must outlive the store or user they mention.
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text', (c) => c.notNull())
      .addColumn('store_id', 'text')
      .addColumn('before', 'text')
      .addColumn('after', 'text')
      .execute();
    await db.schema.createIndex('audit_events_at_idx').on('audit_events').columns(['at', 'id']).execute();
    await db.schema
      .createIndex('audit_events_store_idx')
      .on('audit_events')
      .columns(['store_id', 'at'])
      .execute();

    await db.schema
      .createTable('store_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      .execute();
    await db.schema
      .createIndex('store_events_store_idx')
      .on('store_events')
      .columns(['store_id', 'at'])
      .execute();

    await db.schema
      .createTable('edge_snapshot_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .execute();
    await sql`insert into edge_snapshot_head (id, version, digest) values (1, 0, '')`.execute(db);

    await db.schema
      .createTable('edge_snapshots')
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('snapshot', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('edge_acks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('edge_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('accepted', 'integer', (c) => c.notNull())
      .addColumn('errors', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('edge_acks_edge_idx').on('edge_acks').columns(['edge_id', 'at']).execute();

    await db.schema
      .createTable('access_logs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('store_id', 'text')
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('record', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('access_logs_at_idx').on('access_logs').columns(['at', 'id']).execute();
    await db.schema
      .createIndex('access_logs_store_idx')
      .on('access_logs')
      .columns(['store_id', 'at'])
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('run_after', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint')
      .addColumn('timeout_ms', 'integer', (c) => c.notNull())
      .addColumn('worker_id', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('error', 'text')
      .addColumn('result', 'text')
      .addCheckConstraint('jobs_status_check', sql`status in ('queued', 'running', 'succeeded', 'failed')`)
      .execute();
    await db.schema.createIndex('jobs_claim_idx').on('jobs').columns(['status', 'run_after']).execute();
    await db.schema.createIndex('jobs_kind_idx').on('jobs').columns(['kind', 'created_at']).execute();
  },
};

const backups: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('backups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id').onDelete('cascade'))
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('taken_at', 'bigint')
      .addColumn('snapshot', 'text')
      .addColumn('verifying', 'integer', (c) => c.notNull())
      .addColumn('verification', 'text')
      .addColumn('error', 'text')
      .addCheckConstraint(
        'backups_status_check',
        sql`status in ('queued', 'running', 'succeeded', 'failed', 'pruned')`,
      )
      .execute();
    await db.schema
      .createTable('maintenance')
      .addColumn('store_id', 'text', (c) => c.primaryKey().references('stores.id').onDelete('cascade'))
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('since', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('backups_store_idx')
      .on('backups')
      .columns(['store_id', 'environment', 'created_at'])
      .execute();
  },
};

/** The migrations, by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_backups': backups,
};

/** Hands the in-code migrations to Kysely's Migrator (no migration files on disk to ship). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
