import type { SnapshotProblem, StorePolicy } from '../../contracts/snapshot.ts';
import { PolicyError } from './errors.ts';

/** What the edge does with a request whose user agent matched a bot rule. */
export type BotAction = 'allow' | 'deny' | 'challenge';

/** The classification of one user agent. */
export interface BotVerdict {
  readonly action: BotAction;
  /** Id of the rule that matched, or null when none did. */
  readonly rule: string | null;
  /** True when a verified bot was let through a `deny` or `challenge` rule. */
  readonly verified: boolean;
}

type BotRule = StorePolicy['bots']['rules'][number];

interface CompiledRule {
  readonly regex: RegExp;
  readonly verdict: BotVerdict;
  readonly bypassed: BotVerdict;
}

const NO_RULE: BotVerdict = Object.freeze({ action: 'allow', rule: null, verified: false });

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A verified-bot entry as regexes: always as a literal substring, and as a regex when it is one. */
function verifiedRegexes(entry: string): RegExp[] {
  const literal = new RegExp(escapeRegex(entry), 'i');
  try {
    return [literal, new RegExp(entry, 'i')];
  } catch {
    // Entries like "bingbot/2.0 (+http://www.bing.com/bingbot.htm)" are names, not regexes.
    return [literal];
  }
}

/** A store's bot rules compiled once: the first matching rule decides, verified bots pass deny/challenge. */
export class BotClassifier {
  private readonly rules: readonly CompiledRule[];
  private readonly verified: readonly RegExp[];

  constructor(bots: StorePolicy['bots']) {
    const problems: SnapshotProblem[] = [];
    const rules: CompiledRule[] = [];
    bots.rules.forEach((r: BotRule, i) => {
      try {
        rules.push({
          regex: new RegExp(r.pattern, 'i'),
          // Verdicts are built here so that classifying allocates nothing.
          verdict: Object.freeze({ action: r.action, rule: r.id, verified: false }),
          bypassed: Object.freeze({ action: 'allow', rule: r.id, verified: true }),
        });
      } catch (e) {
        problems.push({
          path: `bots.rules[${i}].pattern`,
          message: `invalid regex: ${(e as Error).message}`,
        });
      }
    });
    if (problems.length > 0) throw new PolicyError('TP_EDGE_BAD_BOT_PATTERN', problems);
    this.rules = rules;
    this.verified = bots.verifiedBots.flatMap(verifiedRegexes);
  }

  /** The action for a request with this User-Agent; a missing header is matched as "". */
  classify(userAgent: string | undefined): BotVerdict {
    const ua = userAgent ?? '';
    for (const r of this.rules) {
      if (!r.regex.test(ua)) continue;
      // Verified bots are checked only once a rule would stop them: most requests never pay for it.
      if (r.verdict.action !== 'allow' && this.isVerified(ua)) return r.bypassed;
      return r.verdict;
    }
    return NO_RULE;
  }

  private isVerified(ua: string): boolean {
    for (const v of this.verified) if (v.test(ua)) return true;
    return false;
  }
}

/** A user-agent class the control plane can offer as a preset. */
export interface BotClass {
  /** A valid bot rule id. */
  readonly id: string;
  readonly description: string;
  /** Case-insensitive regex on the User-Agent. */
  readonly pattern: string;
  /** `verified` classes go to `verifiedBots`; the others become a rule with this action. */
  readonly preset: BotAction | 'verified';
}

/** The default catalogue of user-agent classes. */
export const builtinBotClasses: readonly BotClass[] = Object.freeze([
  {
    id: 'scanners',
    description: 'Vulnerability and port scanners',
    pattern:
      '\\b(?:sqlmap|nikto|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|feroxbuster|acunetix|netsparker|openvas|nessus)\\b',
    preset: 'deny',
  },
  {
    id: 'http-libraries',
    description: 'Command-line tools and HTTP client libraries (also used by legitimate integrations)',
    pattern:
      '\\b(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp|java|libwww-perl|node-fetch|axios|guzzlehttp)/',
    preset: 'allow',
  },
  {
    id: 'search-crawlers',
    description: 'Search engine crawlers',
    pattern: '\\b(?:googlebot|adsbot-google|bingbot|duckduckbot|applebot|yandexbot|baiduspider)\\b',
    preset: 'verified',
  },
  {
    id: 'ai-crawlers',
    description: 'Crawlers collecting training data for AI models',
    pattern: '\\b(?:gptbot|claudebot|ccbot|perplexitybot|bytespider|meta-externalagent)\\b',
    preset: 'allow',
  },
]);

/** The `bots` section of a policy that applies the given classes as presets. */
export function botPreset(classes: readonly BotClass[] = builtinBotClasses): StorePolicy['bots'] {
  const rules: BotRule[] = [];
  const verifiedBots: string[] = [];
  for (const c of classes) {
    if (c.preset === 'verified') verifiedBots.push(c.pattern);
    else rules.push({ id: c.id, pattern: c.pattern, action: c.preset });
  }
  return { rules, verifiedBots };
}
