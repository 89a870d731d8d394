import { Pool as UndiciPool } from 'undici';
import type { UpstreamPool } from '../../contracts/snapshot.ts';

/** Health and load of one upstream member, as the balancer sees it. */
export class Member {
  readonly key: string;
  readonly origin: string;
  readonly client: UndiciPool;
  /** Requests in flight: the balancer picks the member with the fewest. */
  outstanding = 0;
  /** Active health: starts healthy so a new snapshot serves at once; checks correct it. */
  healthy = true;
  checkPasses = 0;
  checkFailures = 0;
  /** Passive ejection after errors on live traffic. */
  liveFailures = 0;
  ejectedUntil = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    cfg: UpstreamPool,
  ) {
    this.key = `${host}:${port}`;
    this.origin = `http://${host}:${port}`;
    this.client = new UndiciPool(this.origin, {
      connections: cfg.keepAliveConnections,
      connectTimeout: cfg.connectTimeoutMs,
      headersTimeout: cfg.responseTimeoutMs,
      bodyTimeout: cfg.responseTimeoutMs,
      keepAliveTimeout: 4000,
      pipelining: 1,
    });
  }

  /** Usable for new requests now. */
  available(now: number): boolean {
    return this.healthy && now >= this.ejectedUntil;
  }
}

/** Errors that mean the request never reached the member, so another member may take it. */
export function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ECONNRESET_BEFORE_SEND'
  );
}

/**
 * A pool of interchangeable members with least-outstanding-requests balancing, active health checks
 * and passive ejection. Members keep their keep-alive connections across snapshots when the pool's
 * settings are unchanged (see `reuse`).
 */
export class Pool {
  readonly members: Member[];
  private timer: NodeJS.Timeout | undefined;
  private rr = 0;

  constructor(
    readonly cfg: UpstreamPool,
    previous?: Pool,
  ) {
    const old = new Map(previous?.members.map((m) => [m.key, m]));
    this.members = cfg.members.map((m) => old.get(`${m.host}:${m.port}`) ?? new Member(m.host, m.port, cfg));
  }

  /** Whether a pool built from `cfg` can take over this pool's members and connections. */
  sameSettings(cfg: UpstreamPool): boolean {
    const { members: _a, ...a } = this.cfg;
    const { members: _b, ...b } = cfg;
    return JSON.stringify(a) === JSON.stringify(b);
  }

  /** Whether any member can take a request now. */
  anyAvailable(): boolean {
    const now = Date.now();
    return this.members.some((m) => m.available(now));
  }

  /** The member for the next request, skipping `exclude` (already tried); undefined when none is up. */
  pick(exclude?: Member): Member | undefined {
    const now = Date.now();
    let best: Member | undefined;
    const n = this.members.length;
    // Start at a rotating offset so equal loads spread instead of always hitting the first member.
    this.rr = (this.rr + 1) % n;
    for (let i = 0; i < n; i++) {
      const m = this.members[(this.rr + i) % n]!;
      if (m === exclude || !m.available(now)) continue;
      if (!best || m.outstanding < best.outstanding) best = m;
    }
    return best;
  }

  /** Records a live request's outcome; repeated failures eject the member for a while. */
  report(m: Member, ok: boolean): void {
    if (ok) {
      m.liveFailures = 0;
      return;
    }
    m.liveFailures++;
    if (m.liveFailures >= this.cfg.passiveFailures) {
      m.ejectedUntil = Date.now() + this.cfg.ejectMs;
      m.liveFailures = 0;
    }
  }

  /** Starts active health checks on every member. */
  startChecks(): void {
    const hc = this.cfg.healthCheck;
    const run = () => {
      for (const m of this.members) void this.check(m);
      this.timer = setTimeout(run, hc.intervalMs);
      this.timer.unref();
    };
    run();
  }

  private async check(m: Member): Promise<void> {
    const hc = this.cfg.healthCheck;
    let ok = false;
    try {
      const r = await m.client.request({
        method: 'GET',
        path: hc.path,
        headers: { 'user-agent': 'triplane-edge-healthcheck' },
        headersTimeout: hc.timeoutMs,
        bodyTimeout: hc.timeoutMs,
      });
      await r.body.dump();
      ok = r.statusCode >= 200 && r.statusCode < 400;
    } catch {
      ok = false;
    }
    if (ok) {
      m.checkFailures = 0;
      m.checkPasses++;
      if (!m.healthy && m.checkPasses >= hc.healthyAfter) m.healthy = true;
    } else {
      m.checkPasses = 0;
      m.checkFailures++;
      if (m.healthy && m.checkFailures >= hc.unhealthyAfter) m.healthy = false;
    }
  }

  /** Stops health checks; closes connections of members not handed to `next`. */
  async close(next?: Pool): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const kept = new Set(next?.members);
    await Promise.all(this.members.filter((m) => !kept.has(m)).map((m) => m.client.close().catch(() => {})));
  }
}
