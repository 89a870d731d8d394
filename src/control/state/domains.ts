import { constraintError, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import type { CertificatesTable } from './schema.ts';

/** A host name a store answers on. Host names are kept lower-case: DNS names are case-insensitive. */
export interface Domain {
  readonly hostname: string;
  readonly storeId: string;
  readonly createdAt: number;
}

/** A TLS certificate and its key (PEM) for one host name. */
export interface StoredCertificate {
  readonly hostname: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: number;
  readonly updatedAt: number;
}

function toCertificate(r: CertificatesTable): StoredCertificate {
  return {
    hostname: r.hostname,
    certPem: r.cert_pem,
    keyPem: r.key_pem,
    notAfter: r.not_after,
    updatedAt: r.updated_at,
  };
}

/** Which store each host name belongs to; a host name belongs to at most one store. */
export class DomainsRepository {
  constructor(private readonly x: Executor) {}

  /** Attaches a host name to a store; STATE_CONFLICT when any store has it, STATE_NOT_FOUND for the store. */
  async add(hostname: string, storeId: string): Promise<Domain> {
    const row = { hostname: hostname.toLowerCase(), store_id: storeId, created_at: this.x.clock() };
    try {
      await this.x.db.insertInto('domains').values(row).execute();
    } catch (e) {
      throw constraintError(e, {
        unique: () =>
          new StateError('STATE_CONFLICT', `domain ${row.hostname} is already attached to a store`, {
            hostname: row.hostname,
          }),
        foreignKey: () =>
          new StateError('STATE_NOT_FOUND', `store ${JSON.stringify(storeId)} does not exist`, { storeId }),
      });
    }
    return { hostname: row.hostname, storeId, createdAt: row.created_at };
  }

  /** Detaches a host name; fails with STATE_NOT_FOUND. */
  async remove(hostname: string): Promise<void> {
    const name = hostname.toLowerCase();
    const r = await this.x.db.deleteFrom('domains').where('hostname', '=', name).executeTakeFirst();
    if (r.numDeletedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `domain ${name} does not exist`, { hostname: name });
    }
  }

  /** The domain of a host name, or null. */
  async lookup(hostname: string): Promise<Domain | null> {
    const row = await this.x.db
      .selectFrom('domains')
      .selectAll()
      .where('hostname', '=', hostname.toLowerCase())
      .executeTakeFirst();
    return row ? { hostname: row.hostname, storeId: row.store_id, createdAt: row.created_at } : null;
  }

  /** Domains by host name, of one store or of all. */
  async list(storeId?: string): Promise<Domain[]> {
    const rows = await this.x.db
      .selectFrom('domains')
      .selectAll()
      .$if(storeId !== undefined, (q) => q.where('store_id', '=', storeId!))
      .orderBy('hostname')
      .execute();
    return rows.map((r) => ({ hostname: r.hostname, storeId: r.store_id, createdAt: r.created_at }));
  }
}

/** Certificates by host name; putting one for a host replaces the previous one (renewal). */
export class CertificatesRepository {
  constructor(private readonly x: Executor) {}

  /** Stores or replaces the certificate of a host name. */
  async put(cert: {
    hostname: string;
    certPem: string;
    keyPem: string;
    notAfter: number;
  }): Promise<StoredCertificate> {
    const row: CertificatesTable = {
      hostname: cert.hostname.toLowerCase(),
      cert_pem: cert.certPem,
      key_pem: cert.keyPem,
      not_after: cert.notAfter,
      updated_at: this.x.clock(),
    };
    await this.x.db
      .insertInto('certificates')
      .values(row)
      .onConflict((oc) =>
        oc.column('hostname').doUpdateSet((eb) => ({
          cert_pem: eb.ref('excluded.cert_pem'),
          key_pem: eb.ref('excluded.key_pem'),
          not_after: eb.ref('excluded.not_after'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
    return toCertificate(row);
  }

  /** The certificate of a host name, or null. */
  async get(hostname: string): Promise<StoredCertificate | null> {
    const row = await this.x.db
      .selectFrom('certificates')
      .selectAll()
      .where('hostname', '=', hostname.toLowerCase())
      .executeTakeFirst();
    return row ? toCertificate(row) : null;
  }

  /** Certificates by host name; with `expiringBefore`, only those whose not-after is earlier (renewals). */
  async list(filter: { expiringBefore?: number } = {}): Promise<StoredCertificate[]> {
    const rows = await this.x.db
      .selectFrom('certificates')
      .selectAll()
      .$if(filter.expiringBefore !== undefined, (q) => q.where('not_after', '<', filter.expiringBefore!))
      .orderBy('hostname')
      .execute();
    return rows.map(toCertificate);
  }

  /** Removes the certificate of a host name; fails with STATE_NOT_FOUND. */
  async remove(hostname: string): Promise<void> {
    const name = hostname.toLowerCase();
    const r = await this.x.db.deleteFrom('certificates').where('hostname', '=', name).executeTakeFirst();
    if (r.numDeletedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `certificate for ${name} does not exist`, { hostname: name });
    }
  }
}
