/**
 * Operator cases whose expected results were checked against libmodsecurity 3.0.9 itself (Debian's
 * libmodsecurity3 3.0.9-1+deb12u2, PCRE2 10.42): each case was run as
 * `SecRule REQUEST_HEADERS:x-v "<op>" "capture,…"` with the value as the header, reading the verdict
 * and TX.0/TX.1. Values are byte strings (Latin-1). Files named in parameters live in ./data/.
 */

export interface OracleCase {
  /** The behaviour, as the test name. */
  readonly why: string;
  /** Operator as written in a rule, e.g. `@rx ^a(b)`. */
  readonly op: string;
  readonly value: string;
  readonly matched: boolean;
  /** Expected TX.0, TX.1… when it matched (only the ones listed are checked). */
  readonly captures?: readonly string[];
}

export const RX_CASES: readonly OracleCase[] = [
  { why: 'dot matches a newline (DOTALL)', op: '@rx a.b', value: 'a\nb', matched: true },
  { why: '(?-s) turns DOTALL off', op: '@rx (?-s)a.b', value: 'a\nb', matched: false },
  { why: '^ matches after an inner newline (MULTILINE)', op: '@rx ^b', value: 'a\nb', matched: true },
  { why: '^ does not match after a newline that ends the value', op: '@rx ^$', value: 'a\n', matched: false },
  { why: '^$ matches an empty line inside the value', op: '@rx ^$', value: 'a\n\nb', matched: true },
  { why: '$ matches before an inner newline', op: '@rx a$', value: 'a\nb', matched: true },
  { why: '$ matches before a final newline', op: '@rx a$', value: 'a\n', matched: true },
  { why: '\\Z matches before a final newline', op: '@rx a\\Z', value: 'a\n', matched: true },
  { why: '\\z matches only at the very end', op: '@rx a\\z', value: 'a\n', matched: false },
  { why: '\\A anchors at the start only', op: '@rx \\Ab', value: 'a\nb', matched: false },
  {
    why: 'captures are the whole match and the groups',
    op: '@rx ^a(b)c$',
    value: 'x\nabc\n',
    matched: true,
    captures: ['abc', 'b'],
  },
  {
    why: 'a leading (?i) makes the whole pattern caseless',
    op: '@rx (?i)^a(b)c$',
    value: 'xABC',
    matched: false,
  },
  { why: '(?i) folds ASCII letters', op: '@rx (?i)abc', value: 'xABC', matched: true, captures: ['ABC'] },
  { why: '(?i) does not fold Latin-1 letters', op: '@rx (?i:\xe9)', value: '\xc9', matched: false },
  { why: 'a scoped (?i:…) leaves the rest case-sensitive', op: '@rx (?i:a)b', value: 'AB', matched: false },
  { why: 'a scoped (?i:…) folds inside', op: '@rx (?i:a)b', value: 'Ab', matched: true },
  { why: 'a caseless backreference folds case', op: '@rx (?i)(a)\\1', value: 'aA', matched: true },
  { why: '\\s does not match 0xA0', op: '@rx \\s', value: '\xa0', matched: false },
  { why: '\\s matches vertical tab', op: '@rx \\s', value: '\v', matched: true },
  { why: '\\h matches 0xA0 (non-UTF mode)', op: '@rx \\h', value: '\xa0', matched: true },
  { why: '\\v is vertical white space, including 0x85', op: '@rx \\v', value: '\x85', matched: true },
  { why: '[\\W] matches a Latin-1 letter', op: '@rx [\\W]', value: '\xe9', matched: true },
  { why: '\\w is ASCII only', op: '@rx \\w', value: '\xe9', matched: false },
  { why: 'POSIX classes work inside brackets', op: '@rx [[:alpha:]]+([0-9])', value: '-ab1', matched: true },
  { why: '\\x41 and octal \\101 are bytes', op: '@rx \\x41\\101', value: 'AA', matched: true },
  { why: '\\0 takes at most two more octal digits', op: '@rx \\0101', value: '\x081', matched: true },
  { why: '{,3} is a literal in PCRE2 10.42', op: '@rx a{,3}', value: 'a{,3}', matched: true },
  {
    why: 'an unset middle group reads as empty',
    op: '@rx (a)|(b)',
    value: 'b',
    matched: true,
    captures: ['b', '', 'b'],
  },
  { why: 'a possessive quantifier does not give back', op: '@rx a++a', value: 'aaa', matched: false },
  { why: 'an atomic group does not give back', op: '@rx (?>a+)a', value: 'aaa', matched: false },
  {
    why: 'groups after an atomic group keep their numbers',
    op: '@rx (?>(a)+)(b)',
    value: 'aab',
    matched: true,
    captures: ['aab', 'a'],
  },
  {
    why: '\\Q…\\E quotes metacharacters',
    op: '@rx \\Qa.b\\E+',
    value: 'a.bb',
    matched: true,
    captures: ['a.bb'],
  },
  { why: '\\b uses ASCII word characters', op: '@rx \\bx\\B', value: '\xe9xy', matched: true },
  { why: 'a literal ] first in a class is a member', op: '@rx []a]', value: ']', matched: true },
  { why: 'bytes above 0x7F match themselves', op: '@rx \xc2\xb4', value: 'x\xc2\xb4', matched: true },
];

export const PM_CASES: readonly OracleCase[] = [
  {
    why: 'phrases match case-insensitively',
    op: '@pm foo bar',
    value: 'xxBARy',
    matched: true,
    captures: ['bar'],
  },
  {
    why: 'the capture is the phrase as written',
    op: '@pm FOO',
    value: 'foo',
    matched: true,
    captures: ['FOO'],
  },
  {
    why: 'a one-byte phrase matches at the first byte',
    op: '@pm a',
    value: 'abc',
    matched: true,
    captures: ['a'],
  },
  { why: 'a phrase is found anywhere', op: '@pm abc bc', value: 'xabc', matched: true },
  { why: 'no phrase, no match', op: '@pm foo bar', value: 'baz', matched: false },
  { why: 'Latin-1 bytes match themselves', op: '@pm qu\xe9', value: 'QU\xe9', matched: true },
  { why: 'Latin-1 letters do not fold case', op: '@pm qu\xe9', value: 'qu\xc9', matched: false },
  { why: 'a phrase byte 0xFF never matches', op: '@pm \xff', value: '\xff', matched: false },
  {
    why: '|hex| bytes replace their text but the unconsumed tail of the parameter stays',
    op: '@pm |AB|',
    value: 'x\xabab|',
    matched: true,
  },
  { why: 'a |hex| phrase alone does not match', op: '@pm |AB|', value: 'x\xab', matched: false },
  { why: '|hex| drops decimal digits (only A-F count)', op: '@pm |41|x', value: 'ax41|x', matched: true },
  {
    why: 'a phrase reachable only through a deeper failure link is missed',
    op: '@pm abce bx cd',
    value: 'abcd',
    matched: false,
  },
  {
    why: 'the same phrase is found without the misleading prefix',
    op: '@pm abce bx cd',
    value: 'zbcd',
    matched: true,
    captures: ['cd'],
  },
  {
    why: 'a hit through a failure link captures the longer prefix being followed',
    op: '@pm abcd bc',
    value: 'abcx',
    matched: true,
    captures: ['abc'],
  },
  {
    why: '@pmFromFile ignores comments and blank lines',
    op: '@pmFromFile list.data',
    value: 'comment',
    matched: false,
  },
  {
    why: '@pmFromFile reads one phrase per line',
    op: '@pmFromFile list.data',
    value: 'a bar baz!',
    matched: true,
  },
  {
    why: '@pmFromFile keeps a line of spaces as a phrase',
    op: '@pmFromFile list.data',
    value: 'a   b',
    matched: true,
  },
  {
    why: '@pmFromFile keeps a trailing CR in a phrase',
    op: '@pmFromFile list.data',
    value: 'x',
    matched: false,
  },
  { why: '@pmf is @pmFromFile', op: '@pmf list.data', value: 'FOO', matched: true, captures: ['foo'] },
];

export const COMPARE_CASES: readonly OracleCase[] = [
  { why: '@within is a substring test', op: '@within GET POST', value: 'GE', matched: true },
  { why: '@within matches an empty value', op: '@within GET POST', value: '', matched: true },
  { why: '@within fails on a value not in the list', op: '@within GET POST', value: 'PUT', matched: false },
  { why: '@contains is case-sensitive', op: '@contains bar', value: 'BAR', matched: false },
  { why: '@strmatch finds a substring', op: '@strmatch bar', value: 'foobarbaz', matched: true },
  { why: '@streq compares whole values', op: '@streq bar', value: 'bar ', matched: false },
  { why: '@beginsWith', op: '@beginsWith ba', value: 'bar', matched: true },
  { why: '@endsWith', op: '@endsWith az', value: 'Bar baz', matched: true },
  {
    why: '@containsWord finds a word between spaces',
    op: '@containsWord word',
    value: 'a word here',
    matched: true,
  },
  { why: '@containsWord finds a word at the start', op: '@containsWord word', value: 'word1', matched: true },
  { why: '@containsWord treats digits as borders', op: '@containsWord word', value: '1word', matched: true },
  { why: '@containsWord needs non-letters around', op: '@containsWord word', value: 'sword', matched: false },
  { why: '@eq parses a leading integer', op: '@eq 5', value: '5abc', matched: true },
  { why: '@eq reads a non-number as 0', op: '@eq 0', value: 'abc', matched: true },
  { why: '@eq reads an int overflow as 0', op: '@eq 0', value: '2147483648', matched: true },
  { why: '@eq skips leading white space and a sign', op: '@eq -1', value: ' -1', matched: true },
  {
    why: '@gt compares 64-bit values',
    op: '@gt 9223372036854775806',
    value: '9223372036854775807',
    matched: true,
  },
  {
    why: '@lt clamps overflow to the 64-bit maximum',
    op: '@lt 9223372036854775807',
    value: '9223372036854775808',
    matched: false,
  },
  { why: '@lt does not read exponents', op: '@lt 1e3', value: '2', matched: false },
  { why: '@ge', op: '@ge 5', value: '5', matched: true },
  { why: '@le', op: '@le 5', value: '6', matched: false },
];

export const VALIDATE_CASES: readonly OracleCase[] = [
  {
    why: 'a byte outside the ranges matches',
    op: '@validateByteRange 32-126',
    value: 'ok\x7f',
    matched: true,
  },
  {
    why: 'bytes inside the ranges pass',
    op: '@validateByteRange 9,10,13,32-126,128-255',
    value: 'a\tb\xe9',
    matched: false,
  },
  { why: 'NUL is outside 1-255', op: '@validateByteRange 1-255', value: 'a\x00', matched: true },
  { why: 'a valid %XX passes', op: '@validateUrlEncoding', value: 'ok%20ok', matched: false },
  { why: 'a non-hex %XX matches', op: '@validateUrlEncoding', value: '%zz', matched: true },
  { why: 'a truncated % at the end matches', op: '@validateUrlEncoding', value: '%4', matched: true },
  { why: 'an empty value is valid URL encoding', op: '@validateUrlEncoding', value: '', matched: false },
  {
    why: 'valid UTF-8 passes',
    op: '@validateUtf8Encoding',
    value: 'h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80',
    matched: false,
  },
  { why: 'a truncated sequence matches', op: '@validateUtf8Encoding', value: '\xe2\x82', matched: true },
  { why: 'an overlong form matches', op: '@validateUtf8Encoding', value: '\xc0\xaf', matched: true },
  { why: 'a surrogate matches', op: '@validateUtf8Encoding', value: '\xed\xa0\x80', matched: true },
  {
    why: 'a lead byte above 0xF4 matches',
    op: '@validateUtf8Encoding',
    value: '\xf5\x80\x80\x80',
    matched: true,
  },
  {
    why: 'F4 90 80 80 (above U+10FFFF) passes as in ModSecurity',
    op: '@validateUtf8Encoding',
    value: '\xf4\x90\x80\x80',
    matched: false,
  },
];

export const IP_CASES: readonly OracleCase[] = [
  { why: 'an address inside a /8 matches', op: '@ipMatch 10.0.0.0/8,::1', value: '10.1.2.3', matched: true },
  {
    why: 'an address outside the blocks does not',
    op: '@ipMatch 10.0.0.0/8,::1',
    value: '11.0.0.1',
    matched: false,
  },
  {
    why: 'host bits of a block are ignored',
    op: '@ipMatch 192.168.1.5/24',
    value: '192.168.1.77',
    matched: true,
  },
  { why: 'IPv6 addresses match', op: '@ipMatch 10.0.0.0/8,::1', value: '::1', matched: true },
  { why: 'leading zeros are not an address', op: '@ipMatch 10.0.0.0/8', value: '010.1.2.3', matched: false },
  {
    why: 'a mapped IPv4 address is IPv6',
    op: '@ipMatch 10.0.0.0/8',
    value: '::ffff:10.0.0.1',
    matched: false,
  },
  {
    why: 'a file lists blocks with comments',
    op: '@ipMatchFromFile ips.data',
    value: '192.168.1.200',
    matched: true,
  },
  {
    why: 'a file line may hold several blocks',
    op: '@ipMatchFromFile ips.data',
    value: '2001:db8::1',
    matched: true,
  },
];
