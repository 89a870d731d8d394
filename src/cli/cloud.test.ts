import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TRIPLANE = fileURLToPath(new URL('../../triplane', import.meta.url));
const DEMO = fileURLToPath(new URL('../../examples/demo-store/triplane.yaml', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'triplane-cloud-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const triplane = (...args: string[]) =>
  spawnSync(TRIPLANE, args, { encoding: 'utf8', cwd: work, timeout: 120_000 });

test('cloud synth fails on a stack AWS cannot run, naming every field and value, and writes nothing', () => {
  // GIVEN one zone with Multi-AZ, replicas max < min and a domain public DNS does not serve
  const stack = join(work, 'triplane.yaml');
  writeFileSync(stack, 'name: shop\ndomains: [shop.test]\napp:\n  replicas: {min: 3, max: 1}\n');
  writeFileSync(
    join(work, 'triplane.aws.yaml'),
    'environments:\n  production: {azCount: 1, multiAz: true}\n',
  );
  // WHEN it is synthesised
  const r = triplane('cloud', 'synth', '-f', stack, '--out', join(work, 'out'));
  // THEN the command exits 2 and lists each problem
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^error TP_CLOUD_INVALID: the stack cannot be deployed to AWS as written: 4 problems$/m,
  );
  assert.match(
    r.stderr,
    /^triplane\.yaml: app\.replicas\.min: min \(3\) must not be greater than max \(1\) \(got 3\)$/m,
  );
  assert.match(
    r.stderr,
    /^triplane\.yaml: domains\[0\]: "\.test" is a reserved name that public DNS does not serve \(got "shop\.test"\)$/m,
  );
  assert.match(r.stderr, /^triplane\.aws\.yaml: environments\.production\.azCount: .* \(got 1\)$/m);
  assert.match(r.stderr, /^triplane\.aws\.yaml: environments\.production\.multiAz: .* \(got true\)$/m);
  assert.equal(spawnSync('test', ['-e', join(work, 'out')]).status, 1);
});

test('cloud deploy --print synthesises the demo store and prints the toolkit command it would run', () => {
  const out = join(work, 'demo.out');
  const r = triplane(
    'cloud',
    'deploy',
    '-f',
    DEMO,
    '--env',
    'staging',
    '--out',
    out,
    '--profile',
    'shop',
    '--print',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    `npx --yes aws-cdk@2.1148.1 deploy --app ${out} --profile shop --require-approval broadening triplane-demo-staging\n`,
  );
  assert.match(r.stderr, /triplane-demo-staging synthesised in \d+\.\ds/);
});
