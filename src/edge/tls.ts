import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { EdgeSnapshot } from '../contracts/snapshot.ts';

/** The argv that makes the default self-signed certificate for localhost and every `*.localhost`. */
export function selfSignedArgv(dir: string): string[] {
  return [
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '825',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1',
  ];
}

/**
 * Creates the default certificate once (in the edge's data directory) and returns it. The pair is
 * written to a private directory and renamed into place, so a reader never sees a certificate
 * from one run beside a key from another (two workers starting together each made a pair).
 */
export function defaultCertificate(dataDir: string): { cert: string; key: string } {
  const dir = join(dataDir, 'edge', 'tls');
  if (!existsSync(join(dir, 'cert.pem'))) {
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
    const tmp = mkdtempSync(`${dir}.tmp-`);
    const [cmd, ...args] = selfSignedArgv(tmp);
    execFileSync(cmd!, args, { stdio: 'ignore' });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process got there first: its pair stands, ours goes.
      if (!existsSync(join(dir, 'cert.pem'))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** Picks the certificate for an SNI name: exact host, then `*.parent`, then the default. */
export class CertificateStore {
  private readonly exact = new Map<string, SecureContext>();

  constructor(
    snapshot: EdgeSnapshot,
    readonly fallback: SecureContext,
  ) {
    for (const c of snapshot.certificates) {
      const ctx = createSecureContext({ cert: c.certPem, key: c.keyPem });
      for (const h of c.hosts) this.exact.set(h.toLowerCase(), ctx);
    }
  }

  /** Context for a server name. */
  lookup(servername: string): SecureContext {
    const name = servername.toLowerCase();
    const dot = name.indexOf('.');
    return (
      this.exact.get(name) ?? (dot > 0 ? this.exact.get(`*${name.slice(dot)}`) : undefined) ?? this.fallback
    );
  }
}
