import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiFixture, OTHER_KEY, SHOP_CERT, SHOP_KEY } from './testing.ts';

test('fails a certificate whose key does not match, or that does not cover the host name', async (t) => {
  const fx = await apiFixture(t);
  await fx.state.domains.add('shop.example.com', 'demo');
  await fx.state.domains.add('www.example.com', 'demo');
  const mismatch = await fx.call('owner', 'PUT', '/api/certificates/shop.example.com', {
    certPem: SHOP_CERT,
    keyPem: OTHER_KEY,
  });
  assert.equal(mismatch.statusCode, 400);
  assert.deepEqual(
    mismatch.json().details.problems.map((p: { path: string }) => p.path),
    ['body.keyPem'],
  );
  const elsewhere = await fx.call('owner', 'PUT', '/api/certificates/www.example.com', {
    certPem: SHOP_CERT,
    keyPem: SHOP_KEY,
  });
  assert.equal(elsewhere.statusCode, 400);
  assert.match(elsewhere.json().message, /body\.certPem: the certificate does not cover www\.example\.com/);
  assert.equal(await fx.state.certificates.get('www.example.com'), null);
});

test("only owners of the host name's store may put its certificate; unknown host names are 404 for admins", async (t) => {
  const fx = await apiFixture(t);
  await fx.state.domains.add('shop.example.com', 'demo');
  const body = { certPem: SHOP_CERT, keyPem: SHOP_KEY };
  const outsider = await fx.call('outsider', 'PUT', '/api/certificates/shop.example.com', body);
  assert.deepEqual([outsider.statusCode, outsider.json().details.store], [403, 'demo']);
  const unknownOwner = await fx.call('owner', 'PUT', '/api/certificates/nowhere.example.com', body);
  assert.equal(unknownOwner.statusCode, 403);
  const unknownAdmin = await fx.call('root', 'PUT', '/api/certificates/shop.example.org', body);
  assert.deepEqual([unknownAdmin.statusCode, unknownAdmin.json().code], [404, 'TP_API_NOT_FOUND']);
  const ok = await fx.call('owner', 'PUT', '/api/certificates/SHOP.example.com', body);
  assert.deepEqual([ok.statusCode, ok.json().hostname], [200, 'shop.example.com']);
});

test("fails to detach another store's domain through one's own store, and to attach a taken one", async (t) => {
  const fx = await apiFixture(t);
  await fx.state.domains.add('other.example.com', 'other');
  const detach = await fx.call('owner', 'DELETE', '/api/stores/demo/domains/other.example.com');
  assert.deepEqual([detach.statusCode, detach.json().code], [404, 'TP_API_NOT_FOUND']);
  assert.equal((await fx.state.domains.lookup('other.example.com'))?.storeId, 'other');
  const attach = await fx.call('owner', 'POST', '/api/stores/demo/domains', {
    hostname: 'other.example.com',
  });
  assert.deepEqual([attach.statusCode, attach.json().code], [409, 'STATE_CONFLICT']);
});
