import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudError } from './errors.ts';
import { loadCloudPlan, settingsFileFor, synthesize } from './synth.ts';

const DEMO = fileURLToPath(new URL('../../../examples/demo-store/triplane.yaml', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'triplane-synth-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('synthesize', () => {
  test("the demo store's stack file synthesises to a CloudFormation template with the release and code assets", () => {
    // GIVEN the demo store as it is in the repository WHEN it is synthesised for production
    const started = performance.now();
    const r = synthesize({ stackFile: DEMO, environment: 'production', outDir: join(work, 'cdk.out') });
    const seconds = (performance.now() - started) / 1000;
    // THEN the template and the assets are in the output directory
    assert.equal(r.stackName, 'triplane-demo-production');
    assert.ok(existsSync(r.templateFile));
    const template = JSON.parse(readFileSync(r.templateFile, 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((x) => x.Type);
    assert.equal(types.filter((t) => t === 'AWS::AutoScaling::AutoScalingGroup').length, 5);
    assert.equal(
      types.filter((t) => t === 'AWS::OpenSearchService::Domain').length,
      0,
      'search is off in the demo',
    );
    assert.equal(
      types.filter((t) => t === 'AWS::Route53::HostedZone').length,
      1,
      'only the private zone: demo.localhost is local',
    );
    const assets = JSON.parse(
      readFileSync(join(work, 'cdk.out', 'triplane-demo-production.assets.json'), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string; packaging: string } }>;
    };
    const dirs = Object.values(assets.files).filter((f) => f.source.packaging === 'zip');
    assert.equal(dirs.length, 2, 'the release and the store code');
    const release = dirs
      .map((d) => join(work, 'cdk.out', d.source.path))
      .find((p) => existsSync(join(p, 'triplane')))!;
    assert.ok(existsSync(join(release, 'src', 'cli', 'main.ts')));
    assert.ok(!existsSync(join(release, 'node_modules')) && !existsSync(join(release, 'test')));
    assert.deepEqual(r.notes.slice(0, 2), [
      'demo.localhost is a local name: it is not served on AWS',
      "no public domain: the store answers only on the distribution's *.cloudfront.net name",
    ]);
    // The figure in docs/benchmarks.md comes from `bench/cloud-synth.sh`; this only shows it stays in bounds.
    assert.ok(seconds < 60, `synthesis took ${seconds.toFixed(1)}s`);
  });
});

describe('settings file', () => {
  test('triplane.aws.yaml beside the stack file is used unless another file is given', () => {
    const dir = mkdtempSync(join(work, 'store-'));
    const stack = join(dir, 'triplane.yaml');
    writeFileSync(stack, 'name: shop\ndomains: [shop.example.com]\n');
    assert.equal(settingsFileFor(stack), undefined);
    writeFileSync(
      join(dir, 'triplane.aws.yaml'),
      'region: us-east-1\nenvironments:\n  staging:\n    azCount: 3\n',
    );
    assert.equal(settingsFileFor(stack), join(dir, 'triplane.aws.yaml'));
    assert.equal(loadCloudPlan(stack, 'staging').plan.zones.length, 3);
    assert.equal(settingsFileFor(stack, '/elsewhere/aws.yaml'), '/elsewhere/aws.yaml');
  });

  test('fails with a coded error on a settings file that is not YAML', () => {
    const dir = mkdtempSync(join(work, 'store-'));
    const stack = join(dir, 'triplane.yaml');
    writeFileSync(stack, 'name: shop\n');
    writeFileSync(join(dir, 'triplane.aws.yaml'), 'region: [us-east-1\n');
    assert.throws(
      () => loadCloudPlan(stack, 'production'),
      (e: unknown) =>
        e instanceof CloudError && e.code === 'TP_CLOUD_SETTINGS_FILE' && /not YAML/.test(e.message),
    );
  });
});
