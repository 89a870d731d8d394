import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findFreeSubIdRange, hasSubIds, parseSubIds } from './subid.ts';

describe('parseSubIds', () => {
  it('reads owner:start:count lines and skips anything else', () => {
    assert.deepEqual(parseSubIds('tp-exp:100000:65536\n\n# note\n1002:165536:65536\nbroken:1\n'), [
      { owner: 'tp-exp', start: 100000, count: 65536 },
      { owner: '1002', start: 165536, count: 65536 },
    ]);
  });
});

describe('hasSubIds', () => {
  const ranges = parseSubIds('tp-a:100000:65536\n1002:165536:65536\ntp-small:231072:1000\n');
  const cases = [
    { name: 'finds a range by name', user: 'tp-a', uid: 1001, want: true },
    { name: 'finds a range by numeric uid', user: 'tp-b', uid: 1002, want: true },
    { name: 'ignores a range too small for a full namespace', user: 'tp-small', uid: 1003, want: false },
    { name: 'reports a user without a range', user: 'tp-c', uid: 1004, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(hasSubIds(ranges, c.user, c.uid), c.want));
});

describe('findFreeSubIdRange', () => {
  it('starts at 100000 on an empty file', () => {
    assert.deepEqual(findFreeSubIdRange([]), { first: 100000, last: 165535 });
  });

  it('skips gaps too small for a full block, whatever the file order', () => {
    // Gaps: 165536-169999 and 235536-299999, both shorter than 65536 ids.
    const ranges = parseSubIds('c:300000:65536\na:100000:65536\nb:170000:65536\n');
    assert.deepEqual(findFreeSubIdRange(ranges), { first: 365536, last: 431071 });
  });

  it('uses a gap that fits exactly', () => {
    const ranges = parseSubIds('a:100000:65536\nb:231072:65536\n');
    assert.deepEqual(findFreeSubIdRange(ranges), { first: 165536, last: 231071 });
  });

  it('fails with TP_HOST_SUBID_EXHAUSTED when no block fits below the maximum', () => {
    assert.throws(() => findFreeSubIdRange(parseSubIds('all:100000:600000000\n')), {
      code: 'TP_HOST_SUBID_EXHAUSTED',
    });
  });
});
