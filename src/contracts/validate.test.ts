import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStackYaml, validateStack } from './validate.ts';

function problems(yaml: string) {
  const r = parseStackYaml(yaml);
  assert.equal(r.ok, false, 'expected the stack to be rejected');
  return r.ok
    ? []
    : r.problems.map((p) => ({ path: p.path, line: p.line, value: p.value, message: p.message }));
}

test('fills every default from a file with only a name', () => {
  const r = validateStack({ name: 'demo' });
  assert.ok(r.ok);
  assert.equal(r.spec.services.redis.partitions.session.policy, 'noeviction');
  assert.equal(r.spec.services.redis.partitions.session.persistence, 'aof');
  assert.equal(r.spec.services.redis.partitions.cache.persistence, 'none');
  assert.equal(r.spec.app.replicas.min, 1);
  assert.equal(r.spec.services.search.enabled, false);
});

test('fails with every problem at once, each with path, line and value', () => {
  const found = problems(`name: Shop_1
app:
  replicas: { min: 3, max: 1 }
  php: { memoryLimit: huge }
services:
  varnish: { port: 80 }
  colour: blue
`);
  assert.deepEqual(
    found.map((p) => [p.path, p.line, p.value]),
    [
      ['name', 1, 'Shop_1'],
      ['app.replicas.min', 3, 3],
      ['app.php.memoryLimit', 4, 'huge'],
      ['services.varnish.port', 6, 80],
      ['services.colour', 7, 'blue'],
    ],
  );
});

test('fails unknown keys and suggests the key that was meant', () => {
  const [p] = problems('name: shop\napp:\n  replica: { min: 2 }\n');
  assert.equal(p?.path, 'app.replica');
  assert.match(p!.message, /^unknown key \(did you mean "replicas"\?\); allowed here: image, webImage, code/);
});

test('fails sizes that are not sizes, quoting the value', () => {
  const [p] = problems('name: shop\nservices:\n  varnish:\n    memory: lots\n');
  assert.deepEqual(p, {
    path: 'services.varnish.memory',
    line: 4,
    value: 'lots',
    message: 'expected a size like "256mb", got "lots"',
  });
});

test('fails replicas min greater than max', () => {
  const [p] = problems('name: shop\napp:\n  replicas: { min: 5, max: 2 }\n');
  assert.equal(p?.path, 'app.replicas.min');
  assert.equal(p?.message, 'min (5) must not be greater than max (2)');
});

test('fails a missing name as required', () => {
  const [p] = problems('app: {}\n');
  assert.deepEqual([p?.path, p?.message], ['name', 'is required']);
});

test('fails YAML syntax errors with their line', () => {
  const [p] = problems('name: shop\napp:\n  replicas: [1, 2\n');
  assert.equal(p?.path, '(file)');
  assert.ok(p?.line && p.line >= 3);
});

test('fails duplicate keys rather than silently taking the last one', () => {
  const [p] = problems('name: shop\nname: other\n');
  assert.equal(p?.path, '(file)');
  assert.match(p!.message, /unique/i);
});

test('fails enabling search without an image or an endpoint', () => {
  const [p] = problems('name: shop\nservices:\n  search: { enabled: true }\n');
  assert.equal(p?.path, 'services.search.enabled');
});
