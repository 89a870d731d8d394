import type { SnapshotProblem, StorePolicy } from '../../contracts/snapshot.ts';
import { BotClassifier } from './bots.ts';
import { PolicyError } from './errors.ts';
import { IpRules } from './ip.ts';
import { OverloadQueue } from './overload.ts';
import { RateLimiter } from './ratelimit.ts';

export { type BotClass, BotClassifier, type BotVerdict, botPreset, builtinBotClasses } from './bots.ts';
export { CHALLENGE_COOKIE, challengeResponse, verifyChallenge } from './challenge.ts';
export { ConnectionLimiter } from './connections.ts';
export { OverloadedError, PolicyError, ProtectError } from './errors.ts';
export { canonicalIp, compileCidrs, type IpMatcher, IpRules } from './ip.ts';
export { OverloadQueue, type Release } from './overload.ts';
export { type RateDecision, RateLimiter } from './ratelimit.ts';

/** One store's protection, compiled once per snapshot; the rate limiter and queue hold live state. */
export interface Protection {
  readonly store: string;
  /** The policy this was compiled from. */
  readonly policy: StorePolicy;
  readonly ip: IpRules;
  readonly rateLimiter: RateLimiter;
  readonly bots: BotClassifier;
  readonly overload: OverloadQueue;
}

/** Options for compiling protection; tests inject a clock. */
export interface ProtectionOptions {
  /**
   * Monotonic clock in milliseconds for the rate limiter and overload queue.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Most clients the rate limiter tracks per route class.
   * @default 100_000
   */
  maxRateKeys?: number;
}

/** The parts of a previous Protection that may be kept, by whether their policy section is unchanged. */
type Reusable = Partial<Pick<Protection, 'ip' | 'rateLimiter' | 'bots' | 'overload'>>;

function build(policy: StorePolicy, keep: Reusable, options: ProtectionOptions): Protection {
  const problems: SnapshotProblem[] = [];
  // Every part is compiled even after one fails, so the error lists every problem of the policy.
  const attempt = <T>(make: () => T): T | undefined => {
    try {
      return make();
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      problems.push(...e.problems);
      return undefined;
    }
  };
  const ip = keep.ip ?? attempt(() => new IpRules(policy));
  const bots = keep.bots ?? attempt(() => new BotClassifier(policy.bots));
  if (!ip || !bots) throw new PolicyError('TP_EDGE_BAD_POLICY', problems, policy.store);
  return Object.freeze({
    store: policy.store,
    policy,
    ip,
    bots,
    rateLimiter:
      keep.rateLimiter ??
      new RateLimiter(policy.rateLimits, { maxKeys: options.maxRateKeys, now: options.now }),
    overload: keep.overload ?? new OverloadQueue(policy.overload, { now: options.now }),
  });
}

/** Compiles a store policy; throws TP_EDGE_BAD_POLICY listing every bad CIDR and bot pattern. */
export function compileProtection(policy: StorePolicy, options: ProtectionOptions = {}): Protection {
  return build(policy, {}, options);
}

/**
 * Compiles a new policy for the store of `prev`, keeping each part whose policy section is unchanged,
 * so rate-limit buckets and queued requests survive a snapshot that did not touch them.
 */
export function recompile(
  prev: Protection,
  policy: StorePolicy,
  options: ProtectionOptions = {},
): Protection {
  if (prev.store !== policy.store) return compileProtection(policy, options);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const old = prev.policy;
  return build(
    policy,
    {
      ip: same([old.ipAllow, old.ipDeny], [policy.ipAllow, policy.ipDeny]) ? prev.ip : undefined,
      bots: same(old.bots, policy.bots) ? prev.bots : undefined,
      rateLimiter: same(old.rateLimits, policy.rateLimits) ? prev.rateLimiter : undefined,
      // A changed queue starts empty; requests holding slots of the old one release them there.
      overload: same(old.overload, policy.overload) ? prev.overload : undefined,
    },
    options,
  );
}
export { StoreConnections } from './store-connections.ts';
