import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NONE, TRANSFORMATION_NAMES, transformation } from './index.ts';

test('looks names up case-insensitively', () => {
  const f = transformation('urlDecodeUni');
  assert.equal(typeof f, 'function');
  assert.equal(transformation('URLDECODEUNI'), f);
  assert.equal(transformation('base64decode'), transformation('base64Decode'));
  assert.equal(transformation('cmdline'), transformation('cmdLine'));
});

test('gives the none marker for t:none in any case', () => {
  assert.equal(transformation('none'), NONE);
  assert.equal(transformation('None'), 'none');
});

test('gives undefined for an unknown name', () => {
  assert.equal(transformation('rot13'), undefined);
  assert.equal(transformation(''), undefined);
});

test('accepts both spellings of normalisePath', () => {
  assert.equal(transformation('normalisePath'), transformation('normalizePath'));
  assert.equal(transformation('normalisePathWin'), transformation('normalizePathWin'));
  assert.notEqual(transformation('normalizePath'), transformation('normalizePathWin'));
});

test('resolves every listed name, and each name once', () => {
  const lower = TRANSFORMATION_NAMES.map((n) => n.toLowerCase());
  assert.equal(new Set(lower).size, lower.length);
  for (const name of TRANSFORMATION_NAMES) assert.notEqual(transformation(name), undefined, name);
  assert.ok(Object.isFrozen(TRANSFORMATION_NAMES));
});

test('keeps every value a Latin-1 string, whatever the bytes', () => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  for (const name of TRANSFORMATION_NAMES) {
    const f = transformation(name);
    if (typeof f !== 'function') continue;
    for (const input of ['', all, `%u00e9&#x41;\\x41/*a*/../${all}`]) {
      const out = f(input);
      assert.equal(typeof out, 'string', name);
      assert.ok(/^[\0-\xff]*$/.test(out), `${name} produced a char above 0xFF`);
    }
  }
});

/** The `t:` names in the actions of the installed CRS rule files (comment lines skipped). */
function crsTransformationNames(): Set<string> {
  const dirs = ['/usr/share/modsecurity-crs/rules', '/etc/modsecurity/crs'];
  const rulesDir = dirs[0]!;
  assert.ok(
    existsSync(rulesDir),
    `${rulesDir} is missing: install the Debian package modsecurity-crs (apt-get install modsecurity-crs)`,
  );
  const names = new Set<string>();
  for (const dir of dirs.filter((d) => existsSync(d))) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.conf'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        if (line.trimStart().startsWith('#')) continue;
        // An action starts the quoted action list or follows a comma: "t:none,t:urlDecodeUni,…
        for (const m of line.matchAll(/["',]t:([A-Za-z0-9]+)/g)) names.add(m[1]!);
      }
    }
  }
  return names;
}

test("resolves every t: name used by Debian's CRS rules", () => {
  const names = crsTransformationNames();
  // The CRS 3.3 rules use about twenty; far fewer means the files were not read as expected.
  assert.ok(names.size >= 15, `only found ${[...names].join(', ')}`);
  const unknown = [...names].filter((n) => transformation(n) === undefined);
  assert.deepEqual(unknown, []);
});
