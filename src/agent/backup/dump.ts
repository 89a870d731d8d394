import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DumpDigest, TableDigest } from '../../contracts/backup.ts';

const TABLE = /^-- Table structure for table `((?:[^`]|``)+)`$/;
const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES /;
const COMPLETED = /^-- Dump completed/;

/**
 * Digests a mariadb-dump stream as it passes: the whole dump's sha256, and per table the rows and
 * the sha256 of their INSERT lines. The dump is taken with one INSERT per row
 * (`--skip-extended-insert`) in primary-key order, so the same data always gives the same digest,
 * whichever server it is dumped from: that is what lets verification compare a restored copy
 * with the moment of the backup without a second read of the live database.
 */
export class DumpDigester {
  private readonly whole = createHash('sha256');
  private readonly tables = new Map<string, { rows: number; hash: Hash }>();
  private bytes = 0;
  private partial = '';
  private lastLine = '';

  /** Feeds the next bytes of the dump. */
  update(chunk: Buffer): void {
    this.whole.update(chunk);
    this.bytes += chunk.length;
    // Latin-1 maps bytes to code units one to one, so lines hash to their exact bytes.
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** The digest of everything fed. */
  finish(database: string): DumpDigest {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    const tables: Record<string, TableDigest> = {};
    for (const name of [...this.tables.keys()].sort()) {
      const t = this.tables.get(name)!;
      tables[name] = { rows: t.rows, sha256: t.hash.digest('hex') };
    }
    return {
      database,
      bytes: this.bytes,
      sha256: this.whole.digest('hex'),
      complete: COMPLETED.test(this.lastLine),
      tables,
    };
  }

  private line(line: string): void {
    if (line !== '') this.lastLine = line;
    if (line.startsWith('INSERT INTO ')) {
      const m = INSERT.exec(line);
      if (!m) return;
      const t = this.table(unquote(m[1]!));
      t.rows++;
      t.hash.update(line, 'latin1');
      t.hash.update('\n');
      return;
    }
    if (line.startsWith('-- Table structure')) {
      const m = TABLE.exec(line);
      if (m) this.table(unquote(m[1]!));
    }
  }

  private table(name: string): { rows: number; hash: Hash } {
    let t = this.tables.get(name);
    if (!t) {
      t = { rows: 0, hash: createHash('sha256') };
      this.tables.set(name, t);
    }
    return t;
  }
}

function unquote(name: string): string {
  return name.replaceAll('``', '`');
}

/** Digests a dump file. */
export async function digestDumpFile(path: string, database: string): Promise<DumpDigest> {
  const d = new DumpDigester();
  for await (const chunk of createReadStream(path)) d.update(chunk as Buffer);
  return d.finish(database);
}

/**
 * Every difference between the dump a backup recorded and a dump of its restored copy, each naming
 * the table and both values. Empty when they hold the same tables with the same rows.
 */
export function compareDumps(expected: DumpDigest, actual: DumpDigest): string[] {
  const problems: string[] = [];
  if (!expected.complete) problems.push('database.complete: the dump taken at backup time was cut short');
  if (!actual.complete) problems.push('restored database: the dump of the restored copy was cut short');
  const names = new Set([...Object.keys(expected.tables), ...Object.keys(actual.tables)]);
  for (const name of [...names].sort()) {
    const e = expected.tables[name];
    const a = actual.tables[name];
    if (!a) {
      problems.push(`table ${name}: missing from the restored database (expected ${e!.rows} rows)`);
      continue;
    }
    if (!e) {
      problems.push(`table ${name}: in the restored database but not in the backup's manifest`);
      continue;
    }
    if (e.rows !== a.rows) problems.push(`table ${name}: ${a.rows} rows restored, ${e.rows} dumped`);
    else if (e.sha256 !== a.sha256)
      problems.push(
        `table ${name}: checksum ${a.sha256.slice(0, 12)} restored, ${e.sha256.slice(0, 12)} dumped`,
      );
  }
  return problems;
}
