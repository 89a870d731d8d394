import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { canonicalIp, compileCidrs, IpRules } from './ip.ts';

describe('compileCidrs', () => {
  const cases = [
    { name: 'matches inside an IPv4 /8', cidrs: ['10.0.0.0/8'], ip: '10.255.1.2', want: true },
    { name: 'does not match next to an IPv4 /8', cidrs: ['10.0.0.0/8'], ip: '11.0.0.0', want: false },
    {
      name: 'matches the first and last address of a /24',
      cidrs: ['192.168.1.0/24'],
      ip: '192.168.1.255',
      want: true,
    },
    { name: 'a /32 matches only its address', cidrs: ['203.0.113.7/32'], ip: '203.0.113.7', want: true },
    { name: 'a /32 misses its neighbour', cidrs: ['203.0.113.7/32'], ip: '203.0.113.8', want: false },
    { name: 'a bare IPv4 address is a /32', cidrs: ['203.0.113.7'], ip: '203.0.113.7', want: true },
    { name: 'IPv4 /0 matches every IPv4 address', cidrs: ['0.0.0.0/0'], ip: '255.255.255.255', want: true },
    { name: 'IPv4 /0 does not match IPv6', cidrs: ['0.0.0.0/0'], ip: '2001:db8::1', want: false },
    {
      name: 'IPv6 /0 matches IPv6',
      cidrs: ['::/0'],
      ip: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      want: true,
    },
    { name: 'IPv6 /0 matches IPv4 too', cidrs: ['::/0'], ip: '1.2.3.4', want: true },
    { name: 'matches inside an IPv6 /32', cidrs: ['2001:db8::/32'], ip: '2001:db8:ffff::1', want: true },
    { name: 'does not match next to an IPv6 /32', cidrs: ['2001:db8::/32'], ip: '2001:db9::', want: false },
    { name: 'a /128 matches only its address', cidrs: ['2001:db8::1/128'], ip: '2001:db8::1', want: true },
    { name: 'a /128 misses its neighbour', cidrs: ['2001:db8::1/128'], ip: '2001:db8::2', want: false },
    {
      name: 'an IPv6 /64 ends at its last address',
      cidrs: ['2001:db8:0:1::/64'],
      ip: '2001:db8:0:1:ffff:ffff:ffff:ffff',
      want: true,
    },
    {
      name: 'an IPv6 /64 excludes the next /64',
      cidrs: ['2001:db8:0:1::/64'],
      ip: '2001:db8:0:2::',
      want: false,
    },
    {
      name: 'other spellings of an IPv6 address match',
      cidrs: ['2001:db8::1'],
      ip: '2001:0DB8:0:0:0:0:0:0001',
      want: true,
    },
    {
      name: 'an IPv4-mapped client matches an IPv4 CIDR',
      cidrs: ['10.0.0.0/8'],
      ip: '::ffff:10.1.2.3',
      want: true,
    },
    {
      name: 'an IPv4-mapped client in hex form matches',
      cidrs: ['10.0.0.0/8'],
      ip: '::ffff:a01:203',
      want: true,
    },
    {
      name: 'an IPv4 client matches a mapped CIDR',
      cidrs: ['::ffff:10.0.0.0/104'],
      ip: '10.9.9.9',
      want: true,
    },
    {
      name: 'an IPv4 client misses a mapped CIDR elsewhere',
      cidrs: ['::ffff:10.0.0.0/104'],
      ip: '11.0.0.1',
      want: false,
    },
    { name: 'host bits after the prefix are ignored', cidrs: ['10.1.2.3/8'], ip: '10.200.0.1', want: true },
    { name: 'a zone id on the client is ignored', cidrs: ['fe80::/10'], ip: 'fe80::1%eth0', want: true },
    {
      name: 'ranges of a list are all searched',
      cidrs: ['10.0.0.0/8', '2001:db8::/32', '192.168.0.0/16'],
      ip: '192.168.5.5',
      want: true,
    },
    {
      name: 'adjacent ranges still match at the seam',
      cidrs: ['10.0.0.0/25', '10.0.0.128/25'],
      ip: '10.0.0.128',
      want: true,
    },
    { name: 'an empty list matches nothing', cidrs: [], ip: '10.0.0.1', want: false },
    { name: 'text that is not an address matches nothing', cidrs: ['::/0'], ip: 'localhost', want: false },
    { name: 'an empty client address matches nothing', cidrs: ['::/0'], ip: '', want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(compileCidrs(c.cidrs).matches(c.ip), c.want));

  const invalid = [
    { name: 'fails on an IPv4 octet above 255', value: '10.0.0.256' },
    { name: 'fails on an IPv4 prefix above 32', value: '10.0.0.0/33' },
    { name: 'fails on an IPv6 prefix above 128', value: '2001:db8::/129' },
    { name: 'fails on an empty prefix', value: '10.0.0.0/' },
    { name: 'fails on a name', value: 'example.com' },
    { name: 'fails on three IPv4 octets', value: '10.0.0' },
    { name: 'fails on an IPv4 octet with a leading zero', value: '010.0.0.1' },
    { name: 'fails on nine IPv6 groups', value: '1:2:3:4:5:6:7:8:9' },
    { name: 'fails on two "::"', value: '1::2::3' },
    { name: 'fails on an IPv6 group of five digits', value: '12345::' },
    { name: 'fails on a zone id', value: 'fe80::1%eth0' },
    { name: 'fails on an empty string', value: '' },
  ];
  for (const c of invalid) {
    it(c.name, () =>
      assert.throws(
        () => compileCidrs(['10.0.0.0/8', c.value]),
        (e: Error & Record<string, unknown>) => {
          assert.equal(e.code, 'TP_EDGE_BAD_CIDR');
          assert.match(e.message, /^cidrs\[1\]: /);
          assert.ok(e.message.includes(JSON.stringify(c.value)), e.message);
          return true;
        },
      ),
    );
  }

  it('fails naming every bad value at once', () => {
    assert.throws(() => compileCidrs(['nope', '10.0.0.0/8', '1.2.3.4/99'], 'ipDeny'), {
      code: 'TP_EDGE_BAD_CIDR',
      problems: [
        { path: 'ipDeny[0]', message: 'expected an IP address or CIDR like "10.0.0.0/8", got "nope"' },
        { path: 'ipDeny[2]', message: 'expected a prefix length from 0 to 32, got "1.2.3.4/99"' },
      ],
    });
  });

  it('accepts exactly the addresses node:net accepts', () => {
    const texts = [
      '0.0.0.0',
      '255.255.255.255',
      '1.2.3.04',
      '1.2.3.4.5',
      '1..2.3',
      ' 1.2.3.4',
      '::',
      '::1',
      '1::',
      ':1',
      '1:',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '::1.2.3',
      'g::1',
      '1:::2',
      'fe80::1:2:3:4:5:6',
      '2001:db8::1.2.3.4',
      'ABCD:EF01::',
      '::ffff:256.0.0.1',
    ];
    for (const t of texts) {
      const ours = (() => {
        try {
          compileCidrs([t]);
          return true;
        } catch {
          return false;
        }
      })();
      assert.equal(ours, isIP(t) !== 0, t);
    }
  });
});

describe('IpRules', () => {
  const cases = [
    { name: 'allows everyone without lists', allow: [], deny: [], ip: '1.2.3.4', want: 'allow' },
    { name: 'denies a listed address', allow: [], deny: ['1.2.3.0/24'], ip: '1.2.3.4', want: 'deny' },
    { name: 'allows an address not denied', allow: [], deny: ['1.2.3.0/24'], ip: '1.2.4.4', want: 'allow' },
    {
      name: 'allows only the allow list when there is one',
      allow: ['10.0.0.0/8'],
      deny: [],
      ip: '1.2.3.4',
      want: 'deny',
    },
    {
      name: 'allows an address on the allow list',
      allow: ['10.0.0.0/8'],
      deny: [],
      ip: '10.1.1.1',
      want: 'allow',
    },
    {
      name: 'lets deny win over allow',
      allow: ['10.0.0.0/8'],
      deny: ['10.6.6.6'],
      ip: '10.6.6.6',
      want: 'deny',
    },
    {
      name: 'applies IPv4 rules to IPv4-mapped clients',
      allow: [],
      deny: ['1.2.3.4'],
      ip: '::ffff:1.2.3.4',
      want: 'deny',
    },
    { name: 'applies IPv6 rules', allow: ['2001:db8::/32'], deny: [], ip: '2001:db8::5', want: 'allow' },
    {
      name: 'denies an unparseable client when an allow list exists',
      allow: ['::/0'],
      deny: [],
      ip: 'bogus',
      want: 'deny',
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () =>
      assert.equal(new IpRules({ ipAllow: [...c.allow], ipDeny: [...c.deny] }).decide(c.ip), c.want),
    );
  }

  it('fails listing the bad values of both lists', () => {
    assert.throws(() => new IpRules({ ipAllow: ['x'], ipDeny: ['y'] }), {
      code: 'TP_EDGE_BAD_CIDR',
      message: /^ipAllow\[0\]: .*"x".*; ipDeny\[0\]: .*"y"/,
    });
  });
});

describe('canonicalIp', () => {
  const cases = [
    { ip: '::ffff:1.2.3.4', want: '1.2.3.4' },
    { ip: '::FFFF:1.2.3.4', want: '1.2.3.4' },
    { ip: '1.2.3.4', want: '1.2.3.4' },
    { ip: '2001:db8::1', want: '2001:db8::1' },
    { ip: '::1', want: '::1' },
  ];
  for (const c of cases) it(`folds ${c.ip} to ${c.want}`, () => assert.equal(canonicalIp(c.ip), c.want));
});
