import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudError } from './errors.ts';
import { defaultZoneName, planCloud, publicDomainProblem } from './plan.ts';

const STORE = { name: 'shop', domains: ['shop.example.com'] };

function problemsOf(run: () => unknown): CloudError {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof CloudError, `expected a CloudError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the plan to fail');
}

describe('planCloud', () => {
  test('production spans 3 zones with Multi-AZ and a NAT gateway per zone; staging 2 zones, one NAT, no Multi-AZ', () => {
    // GIVEN a store with no AWS settings WHEN it is planned for each environment
    const prod = planCloud(STORE, {}, 'production').plan;
    const staging = planCloud(STORE, {}, 'staging').plan;
    // THEN production-ness follows the environment's name
    assert.deepEqual(
      { production: prod.production, zones: prod.zones, multiAz: prod.multiAz, nat: prod.natGateways },
      { production: true, zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], multiAz: true, nat: 3 },
    );
    assert.deepEqual(
      {
        production: staging.production,
        zones: staging.zones,
        multiAz: staging.multiAz,
        nat: staging.natGateways,
      },
      { production: false, zones: ['us-east-1a', 'us-east-1b'], multiAz: false, nat: 1 },
    );
    assert.equal(prod.stackName, 'triplane-shop-production');
    assert.equal(prod.zoneName, 'example.com');
    assert.equal(prod.originPrefixListId, 'pl-3b927c52');
  });

  test('an environment entry overrides what the name implies', () => {
    const plan = planCloud(
      STORE,
      { environments: { demo: { production: true, azCount: 2, natGateways: 1 } } },
      'demo',
    ).plan;
    assert.deepEqual(
      [plan.production, plan.zones.length, plan.multiAz, plan.natGateways],
      [true, 2, true, 1],
    );
  });

  test('.localhost names are left out of the public domains and reported as local', () => {
    const plan = planCloud({ name: 'demo', domains: ['demo.localhost'] }, {}, 'production').plan;
    assert.deepEqual(plan.domains, []);
    assert.deepEqual(plan.localDomains, ['demo.localhost']);
    assert.equal(plan.zoneName, undefined);
  });

  test('fails listing every problem of both files at once, each with its path and value', () => {
    // GIVEN one zone with Multi-AZ, replicas max < min, a domain public DNS cannot serve, and an
    // x86 type on arm64
    const e = problemsOf(() =>
      planCloud(
        { name: 'shop', domains: ['shop.test'], app: { replicas: { min: 4, max: 2 } } },
        { instances: { app: 'm7i.large' }, environments: { production: { azCount: 1, multiAz: true } } },
        'production',
      ),
    );
    // THEN the error is coded and names each field and value
    assert.equal(e.code, 'TP_CLOUD_INVALID');
    const byPath = Object.fromEntries(e.problems.map((p) => [`${p.file}:${p.path}`, p.value]));
    assert.deepEqual(byPath, {
      'triplane.yaml:app.replicas.min': 4,
      'triplane.yaml:domains[0]': 'shop.test',
      'triplane.aws.yaml:environments.production.azCount': 1,
      'triplane.aws.yaml:environments.production.multiAz': true,
      'triplane.aws.yaml:instances.app': 'm7i.large',
    });
    for (const p of e.problems)
      assert.ok(
        e.message.includes(`${p.path}: `) && e.message.includes(`(got ${JSON.stringify(p.value)})`),
        p.path,
      );
    assert.match(e.message, /5 problems/);
  });

  test('fails on a domain that public DNS cannot serve once the stack file itself is valid', () => {
    const e = problemsOf(() =>
      planCloud({ name: 'shop', domains: ['shop.test', 'intranet'] }, {}, 'production'),
    );
    assert.deepEqual(
      e.problems.map((p) => [p.path, p.value]),
      [
        ['domains[0]', 'shop.test'],
        ['domains[1]', 'intranet'],
      ],
    );
  });

  test('fails on an invalid domain, an unknown settings key and a bad --env together', () => {
    const e = problemsOf(() =>
      planCloud({ name: 'shop', domains: ['shop_example.com'] }, { regoin: 'eu-west-1' }, 'Prod'),
    );
    assert.deepEqual(
      e.problems.map((p) => p.path),
      ['domains[0]', 'regoin', '--env'],
    );
    assert.match(e.message, /shop_example\.com/);
    assert.match(e.message, /"Prod"/);
  });

  test('fails outside us-east-1 without a CloudFront certificate and an origin prefix list, and on a domain outside the zone', () => {
    const e = problemsOf(() =>
      planCloud(
        { name: 'shop', domains: ['shop.example.com', 'shop.example.org'] },
        { region: 'eu-west-1', dns: { zoneName: 'example.com' } },
        'production',
      ),
    );
    assert.deepEqual(e.problems.map((p) => p.path).sort(), [
      'cloudFront.originPrefixListId',
      'dns.cloudFrontCertificateArn',
      'domains[1]',
    ]);
  });

  test('fails when there is no NAT gateway or more than one per zone', () => {
    const none = problemsOf(() =>
      planCloud(STORE, { environments: { staging: { natGateways: 0 } } }, 'staging'),
    );
    assert.deepEqual(
      none.problems.map((p) => [p.path, p.value]),
      [['environments.staging.natGateways', 0]],
    );
    const many = problemsOf(() =>
      planCloud(STORE, { environments: { staging: { natGateways: 3 } } }, 'staging'),
    );
    assert.deepEqual(
      many.problems.map((p) => [p.path, p.value]),
      [['environments.staging.natGateways', 3]],
    );
  });
});

describe('domains', () => {
  test('public names pass; reserved, single-label and numeric top-level names do not', () => {
    const cases: [string, boolean][] = [
      ['shop.example.com', true],
      ['*.shop.example.com', true],
      ['xn--bcher-kva.example', false],
      ['shop.local', false],
      ['localhost', false],
      ['shop.123', false],
      ['shop.co.uk', true],
    ];
    for (const [domain, ok] of cases) assert.equal(publicDomainProblem(domain) === undefined, ok, domain);
  });

  test('the default zone drops the first label of a name with three or more', () => {
    assert.equal(defaultZoneName(['www.shop.co.uk', 'shop.co.uk']), 'shop.co.uk');
    assert.equal(defaultZoneName(['example.com']), 'example.com');
    assert.equal(defaultZoneName(['*.shop.example.com']), 'example.com');
    assert.equal(defaultZoneName([]), undefined);
  });
});
