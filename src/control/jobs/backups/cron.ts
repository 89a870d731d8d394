/** One cron field's allowed values. */
function field(expr: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of expr.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = range!.split('-');
      lo = Number(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : Number(b);
    }
    for (let v = lo; v <= hi; v += step) if (v >= min && v <= max) out.add(v);
  }
  return out;
}

/** A parsed five-field cron schedule (minute hour day-of-month month day-of-week), server time UTC. */
export interface Cron {
  matches(d: Date): boolean;
}

/**
 * Parses a schedule the stack spec has already validated. Day of month and day of week combine as
 * in cron: when both are restricted, either may match.
 */
export function parseCron(expr: string): Cron {
  const [m, h, dom, mon, dow] = expr.trim().split(/\s+/) as [string, string, string, string, string];
  const minutes = field(m, 0, 59);
  const hours = field(h, 0, 23);
  const days = field(dom, 1, 31);
  const months = field(mon, 1, 12);
  const weekdays = field(dow, 0, 7);
  if (weekdays.has(7)) weekdays.add(0);
  const domAny = dom === '*';
  const dowAny = dow === '*';
  return {
    matches(d: Date): boolean {
      if (!minutes.has(d.getUTCMinutes()) || !hours.has(d.getUTCHours()) || !months.has(d.getUTCMonth() + 1))
        return false;
      const byDom = days.has(d.getUTCDate());
      const byDow = weekdays.has(d.getUTCDay());
      if (domAny && dowAny) return true;
      if (domAny) return byDow;
      if (dowAny) return byDom;
      return byDom || byDow;
    },
  };
}

/** The latest minute in (`after`, `now`] the schedule fires at, or undefined. */
export function lastFiring(cron: Cron, now: Date, after: Date): Date | undefined {
  const t = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  for (; t.getTime() > after.getTime(); t.setTime(t.getTime() - 60_000))
    if (cron.matches(t)) return new Date(t);
  return undefined;
}
