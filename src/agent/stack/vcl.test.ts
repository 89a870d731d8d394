import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateVcl } from './vcl.ts';

const base = {
  appHosts: ['app-1', 'app-2'],
  adminHosts: [],
  adminPathPrefix: '/admin',
  grace: '300s',
  ttl: '1d',
};

test('declares one probed backend per app pod and a round-robin director over them', () => {
  const vcl = generateVcl(base);
  assert.match(vcl, /backend app_1 \{\n {4}\.host = "app-1";\n {4}\.port = "8080";\n {4}\.probe = health;/);
  assert.match(vcl, /backend app_2 \{\n {4}\.host = "app-2";/);
  assert.match(vcl, /app\.add_backend\(app_1\);\n {4}app\.add_backend\(app_2\);/);
  assert.match(vcl, /"GET \/health_check\.php HTTP\/1\.1"/);
});

test('bans by X-Magento-Tags-Pattern and purges by URL otherwise', () => {
  const vcl = generateVcl(base);
  assert.match(vcl, /ban\("obj\.http\.X-Magento-Tags ~ " \+ req\.http\.X-Magento-Tags-Pattern\);/);
  assert.match(vcl, /return \(purge\);/);
});

test('applies the grace and default TTL from the spec in seconds', () => {
  const vcl = generateVcl({ ...base, grace: '5m', ttl: '1h' });
  assert.match(vcl, /set beresp\.grace = 300s;/);
  assert.match(vcl, /set beresp\.ttl = 3600s;/);
});

test('sends the admin path to the admin pods when they exist, uncached', () => {
  const withAdmin = generateVcl({ ...base, adminHosts: ['admin-1'], adminPathPrefix: '/backoffice' });
  assert.match(
    withAdmin,
    /if \(req\.url ~ "\^\/backoffice\(\/\|\\\?\|\$\)"\) \{\n {8}set req\.backend_hint = admin\.backend\(\);\n {8}return \(pass\);/,
  );
  assert.match(withAdmin, /backend admin_1/);
  const without = generateVcl(base);
  assert.match(without, /set req\.backend_hint = app\.backend\(\);\n {8}return \(pass\);/);
  assert.doesNotMatch(without, /backend admin_/);
});

test('is deterministic so its hash only changes when the spec does', () => {
  assert.equal(generateVcl(base), generateVcl({ ...base }));
  assert.notEqual(generateVcl(base), generateVcl({ ...base, appHosts: ['app-1'] }));
});

test('fails without any app pod', () => {
  assert.throws(() => generateVcl({ ...base, appHosts: [] }), /at least one app pod/);
});
