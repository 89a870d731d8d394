import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DumpDigest, TableDigest } from '../../contracts/backup.ts';

const TABLE = /^-- Table structure for table `((?:[^`]|``)+)`$/;
// A statement of one row, `INSERT INTO `t` VALUES (…);`, or the first line of an extended insert,
// `INSERT INTO `t` VALUES`, whose rows follow one per line: `(…),` and the last `(…);`.
const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES( |$)/;
const COMPLETED = /^-- Dump completed/;

interface TableSum {
  rows: number;
  hash: Hash;
  /** `INSERT INTO `t` VALUES `, as the table's name is quoted in the dump. */
  prefix: string;
}

/**
 * Digests a mariadb-dump stream as it passes: the whole dump's sha256, and per table the rows and
 * the sha256 of the rows as one-row INSERT statements (`INSERT INTO `t` VALUES (…);` and a newline
 * each). The dump is taken in primary-key order, so the same data always gives the same digest,
 * whichever server it is dumped from: that is what lets verification compare a restored copy
 * with the moment of the backup without a second read of the live database. Rows are digested the
 * same whether the dump has one statement per row (as backups take it) or extended inserts (as
 * loading batches it, `batchInserts`), however those are split.
 */
export class DumpDigester {
  private readonly whole = createHash('sha256');
  private readonly tables = new Map<string, TableSum>();
  private bytes = 0;
  private partial = '';
  private lastLine = '';
  /** The table whose extended insert's rows the next lines are. */
  private inserting: TableSum | null = null;

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
    if (this.inserting) {
      // Strings are escaped (`\n`), so a row never spans lines; its line ends `,` or, the last, `;`.
      if (line.startsWith('(')) {
        const last = line.endsWith(';');
        this.row(this.inserting, line.slice(0, last || line.endsWith(',') ? -1 : undefined));
        if (last) this.inserting = null;
        return;
      }
      this.inserting = null;
    }
    if (line.startsWith('INSERT INTO ')) {
      const m = INSERT.exec(line);
      if (!m) return;
      const t = this.table(unquote(m[1]!), m[1]!);
      if (m[2] === '') this.inserting = t;
      else this.row(t, line.slice(m[0].length, line.endsWith(';') ? -1 : undefined));
      return;
    }
    if (line.startsWith('-- Table structure')) {
      const m = TABLE.exec(line);
      if (m) this.table(unquote(m[1]!), m[1]!);
    }
  }

  private row(t: TableSum, tuple: string): void {
    t.rows++;
    t.hash.update(t.prefix, 'latin1');
    t.hash.update(tuple, 'latin1');
    t.hash.update(';\n');
  }

  private table(name: string, quoted: string): TableSum {
    let t = this.tables.get(name);
    if (!t) {
      t = { rows: 0, hash: createHash('sha256'), prefix: `INSERT INTO \`${quoted}\` VALUES ` };
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

/** The problem a verification reports when the dump a backup recorded was cut short. */
export const DUMP_CUT_SHORT = 'database.complete: the dump taken at backup time was cut short';

/**
 * Every difference between the dump a backup recorded and a dump of its restored copy, each naming
 * the table and both values. Empty when they hold the same tables with the same rows.
 */
export function compareDumps(expected: DumpDigest, actual: DumpDigest): string[] {
  const problems: string[] = [];
  if (!expected.complete) problems.push(DUMP_CUT_SHORT);
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
