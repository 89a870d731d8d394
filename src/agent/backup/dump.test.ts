import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { compareDumps, DumpDigester } from './dump.ts';

const DUMP = [
  '-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)',
  '--',
  '-- Table structure for table `catalog_product`',
  '--',
  'DROP TABLE IF EXISTS `catalog_product`;',
  'CREATE TABLE `catalog_product` (',
  '  `id` int(11) NOT NULL AUTO_INCREMENT,',
  '  PRIMARY KEY (`id`)',
  ') ENGINE=InnoDB;',
  'LOCK TABLES `catalog_product` WRITE;',
  "INSERT INTO `catalog_product` VALUES (1,'Shirt \\'blue\\'');",
  "INSERT INTO `catalog_product` VALUES (2,'caf\xc3\xa9');",
  'UNLOCK TABLES;',
  '--',
  '-- Table structure for table `odd``name`',
  '--',
  'CREATE TABLE `odd``name` (`x` int);',
  '--',
  '-- Table structure for table `sales_order`',
  '--',
  'CREATE TABLE `sales_order` (`id` int);',
  '-- Dump completed',
  '',
].join('\n');

const digest = (text: string, cuts: number[] = []) => {
  const d = new DumpDigester();
  const buf = Buffer.from(text, 'latin1');
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    d.update(buf.subarray(at, c));
    at = c;
  }
  return d.finish('store');
};

describe('dump digests', () => {
  test('count rows per table and digest their INSERT lines, empty tables included', () => {
    const d = digest(DUMP);
    assert.deepEqual(Object.keys(d.tables), ['catalog_product', 'odd`name', 'sales_order']);
    assert.equal(d.tables.catalog_product!.rows, 2);
    assert.equal(d.tables['odd`name']!.rows, 0);
    const lines = DUMP.split('\n').filter((l) => l.startsWith('INSERT'));
    const h = createHash('sha256');
    for (const l of lines) h.update(`${l}\n`, 'latin1');
    assert.equal(d.tables.catalog_product!.sha256, h.digest('hex'));
    assert.equal(d.sha256, createHash('sha256').update(Buffer.from(DUMP, 'latin1')).digest('hex'));
    assert.equal(d.bytes, Buffer.byteLength(DUMP, 'latin1'));
    assert.equal(d.complete, true);
  });

  test('give the same digest however the stream is cut into chunks', () => {
    const whole = digest(DUMP);
    for (const cuts of [[1], [100, 101, 102], [250, 300], [DUMP.length - 3]])
      assert.deepEqual(digest(DUMP, cuts), whole, `cuts ${cuts}`);
  });

  test('digest extended inserts, however split, as the same rows in statements of one row', () => {
    // mariadb-dump 10.11's extended insert: the statement's first line, then one row per line.
    const extended = (split: number) => {
      const rows = ["(1,'Shirt \\'blue\\'')", "(2,'caf\xc3\xa9')", "(3,'(a),\\n(b);')"];
      const out: string[] = [];
      for (let i = 0; i < rows.length; i += split) {
        const part = rows.slice(i, i + split);
        out.push(
          'INSERT INTO `catalog_product` VALUES',
          ...part.map((r, j) => `${r}${j === part.length - 1 ? ';' : ','}`),
        );
      }
      return out.join('\n');
    };
    const statements = DUMP.replace(
      "INSERT INTO `catalog_product` VALUES (2,'caf\xc3\xa9');",
      "INSERT INTO `catalog_product` VALUES (2,'caf\xc3\xa9');\nINSERT INTO `catalog_product` VALUES (3,'(a),\\n(b);');",
    );
    const oneStatement = DUMP.split('\n')
      .filter((l) => !l.startsWith('INSERT'))
      .join('\n')
      .replace('UNLOCK TABLES;', `${extended(3)}\nUNLOCK TABLES;`);
    const twoStatements = oneStatement.replace(extended(3), extended(2));
    const expected = digest(statements);
    assert.equal(expected.tables.catalog_product!.rows, 3);
    for (const dump of [oneStatement, twoStatements]) {
      const d = digest(dump, [40, 300, 301]);
      assert.deepEqual(d.tables, expected.tables);
      assert.equal(d.complete, true);
    }
  });

  test('notice a dump cut short', () => {
    const cut = DUMP.slice(0, DUMP.indexOf('INSERT INTO `catalog_product` VALUES (2'));
    const d = digest(cut);
    assert.equal(d.complete, false);
    assert.equal(d.tables.catalog_product!.rows, 1);
    assert.deepEqual(compareDumps(digest(DUMP), d), [
      'restored database: the dump of the restored copy was cut short',
      'table catalog_product: 1 rows restored, 2 dumped',
      'table odd`name: missing from the restored database (expected 0 rows)',
      'table sales_order: missing from the restored database (expected 0 rows)',
    ]);
  });

  test('name the table whose data differs, and tables only one side has', () => {
    const changed = DUMP.replace("'Shirt", "'Shirts").replace('`sales_order`', '`sales_orders`');
    const e = digest(DUMP);
    const a = digest(changed);
    const problems = compareDumps(e, a);
    assert.equal(problems.length, 3);
    assert.match(
      problems[0]!,
      /^table catalog_product: checksum [0-9a-f]{12} restored, [0-9a-f]{12} dumped$/,
    );
    assert.equal(problems[1], 'table sales_order: missing from the restored database (expected 0 rows)');
    assert.equal(
      problems[2],
      "table sales_orders: in the restored database but not in the backup's manifest",
    );
    assert.deepEqual(compareDumps(e, digest(DUMP)), []);
  });
});
