import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BotClassifier, botPreset, builtinBotClasses } from './bots.ts';

const chrome =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const bingbot = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';

describe('BotClassifier', () => {
  const classifier = new BotClassifier({
    rules: [
      { id: 'partner', pattern: 'PartnerSync', action: 'allow' },
      { id: 'scanners', pattern: '\\b(sqlmap|nikto)\\b', action: 'deny' },
      { id: 'crawlers', pattern: 'bot|crawler|spider', action: 'challenge' },
      { id: 'no-ua', pattern: '^$', action: 'deny' },
    ],
    verifiedBots: ['Googlebot', 'bingbot/2.0 (+http://www.bing.com/bingbot.htm)', '^DuckDuckBot-Https/1\\.1'],
  });
  const cases = [
    {
      name: 'allows a browser no rule matches',
      ua: chrome,
      want: { action: 'allow', rule: null, verified: false },
    },
    {
      name: 'denies a scanner',
      ua: 'sqlmap/1.7.2#stable',
      want: { action: 'deny', rule: 'scanners', verified: false },
    },
    {
      name: 'matches case-insensitively',
      ua: 'Mozilla/5.00 (NIKTO/2.1.6)',
      want: { action: 'deny', rule: 'scanners', verified: false },
    },
    {
      name: 'challenges an unknown crawler',
      ua: 'FooCrawler/1.0',
      want: { action: 'challenge', rule: 'crawlers', verified: false },
    },
    {
      name: 'lets the first matching rule decide',
      ua: 'PartnerSync bot',
      want: { action: 'allow', rule: 'partner', verified: false },
    },
    {
      name: 'matches a missing User-Agent as empty',
      ua: undefined,
      want: { action: 'deny', rule: 'no-ua', verified: false },
    },
    {
      name: 'lets a verified bot through by substring',
      ua: googlebot,
      want: { action: 'allow', rule: 'crawlers', verified: true },
    },
    {
      name: 'lets a verified bot through by an entry that is not a regex',
      ua: 'Mozilla/5.0 (compatible; bingbot/2.0 (+http://www.bing.com/bingbot.htm))',
      want: { action: 'allow', rule: 'crawlers', verified: true },
    },
    {
      name: 'lets a verified bot through by regex',
      ua: 'DuckDuckBot-Https/1.1',
      want: { action: 'allow', rule: 'crawlers', verified: true },
    },
    {
      name: 'lets a verified bot through a deny rule',
      ua: 'Googlebot sqlmap',
      want: { action: 'allow', rule: 'scanners', verified: true },
    },
    {
      name: 'does not verify a near miss',
      ua: 'DuckDuckBot/1.1',
      want: { action: 'challenge', rule: 'crawlers', verified: false },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(classifier.classify(c.ua), c.want));

  it('returns the same verdict object each time, so classifying allocates nothing', () => {
    assert.equal(classifier.classify('sqlmap'), classifier.classify('nikto'));
    assert.equal(classifier.classify(chrome), classifier.classify('Firefox'));
  });

  it('fails naming every invalid pattern at once', () => {
    assert.throws(
      () =>
        new BotClassifier({
          rules: [
            { id: 'a', pattern: '(', action: 'deny' },
            { id: 'b', pattern: 'ok', action: 'deny' },
            { id: 'c', pattern: '[z-a]', action: 'deny' },
          ],
          verifiedBots: [],
        }),
      (e: Error & { code?: string; problems?: { path: string }[] }) => {
        assert.equal(e.code, 'TP_EDGE_BAD_BOT_PATTERN');
        assert.deepEqual(
          e.problems?.map((p) => p.path),
          ['bots.rules[0].pattern', 'bots.rules[2].pattern'],
        );
        return true;
      },
    );
  });
});

describe('builtinBotClasses', () => {
  const classifier = new BotClassifier({
    ...botPreset(),
    // A store that challenges every bot still lets verified crawlers in.
    rules: [...botPreset().rules, { id: 'other-bots', pattern: 'bot', action: 'challenge' }],
  });
  const cases = [
    { ua: 'sqlmap/1.7.2#stable (https://sqlmap.org)', action: 'deny', rule: 'scanners' },
    { ua: 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)', action: 'deny', rule: 'scanners' },
    {
      ua: 'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)',
      action: 'deny',
      rule: 'scanners',
    },
    { ua: 'masscan/1.3 (https://github.com/robertdavidgraham/masscan)', action: 'deny', rule: 'scanners' },
    { ua: 'Mozilla/5.0 zgrab/0.x', action: 'deny', rule: 'scanners' },
    { ua: 'curl/8.4.0', action: 'allow', rule: 'http-libraries' },
    { ua: 'python-requests/2.31.0', action: 'allow', rule: 'http-libraries' },
    { ua: 'Go-http-client/1.1', action: 'allow', rule: 'http-libraries' },
    { ua: 'Python/3.11 aiohttp/3.9.1', action: 'allow', rule: 'http-libraries' },
    { ua: 'GPTBot/1.0 (+https://openai.com/gptbot)', action: 'allow', rule: 'ai-crawlers' },
    { ua: googlebot, action: 'allow', rule: 'other-bots' },
    { ua: bingbot, action: 'allow', rule: 'other-bots' },
    { ua: 'SomeRandomBot/1.0', action: 'challenge', rule: 'other-bots' },
    { ua: chrome, action: 'allow', rule: null },
  ];
  for (const c of cases) {
    it(`classifies ${c.ua.slice(0, 50)} as ${c.action} by ${c.rule}`, () => {
      const v = classifier.classify(c.ua);
      assert.deepEqual([v.action, v.rule], [c.action, c.rule]);
    });
  }

  it('offers search crawlers as verified bots and the rest as rules', () => {
    const preset = botPreset();
    assert.deepEqual(
      preset.rules.map((r) => [r.id, r.action]),
      [
        ['scanners', 'deny'],
        ['http-libraries', 'allow'],
        ['ai-crawlers', 'allow'],
      ],
    );
    assert.equal(preset.verifiedBots.length, builtinBotClasses.filter((c) => c.preset === 'verified').length);
  });
});
