import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSecureContext } from 'node:tls';
import { defaultCertificate, selfSignedArgv } from './tls.ts';

test('the default certificate is made with openssl for localhost and *.localhost', () => {
  const argv = selfSignedArgv('/d');
  assert.equal(argv[0], 'openssl');
  assert.deepEqual(argv.slice(argv.indexOf('-keyout'), argv.indexOf('-keyout') + 4), [
    '-keyout',
    '/d/key.pem',
    '-out',
    '/d/cert.pem',
  ]);
  assert.equal(argv.at(-1), 'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1');
});

test('processes that make the default certificate at once all end with one matching pair', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-tls-'));
  try {
    const script = `import { defaultCertificate } from ${JSON.stringify(new URL('./tls.ts', import.meta.url).href)};
      const c = defaultCertificate(${JSON.stringify(dir)}); process.stdout.write(c.cert);`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    const certs = await Promise.all([run(), run(), run(), run()]);
    const mine = defaultCertificate(dir);
    for (const c of certs) assert.equal(c, mine.cert);
    // A certificate beside a key from another run throws "key values mismatch" here.
    assert.doesNotThrow(() => createSecureContext(mine));
    assert.deepEqual(readdirSync(join(dir, 'edge')), ['tls']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
