import type { FieldProblem } from '../../contracts/api.ts';
import { AccessLogRecord } from '../../contracts/snapshot.ts';
import { ApiError, problemsOf } from '../errors.ts';

/** Problems named in an error message; `details.problems` has all of them. */
const SHOWN = 5;

/**
 * The records of an NDJSON access-log batch (one JSON record a line, blank lines ignored), or
 * TP_API_INVALID listing every bad line with its 1-based number and field, e.g. `line 3.status`.
 * A batch is all or nothing: one bad line rejects it, so a retry cannot store half of it twice.
 */
export function parseAccessLogBatch(text: string): AccessLogRecord[] {
  const records: AccessLogRecord[] = [];
  const problems: FieldProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      problems.push({ path: where, message: `not JSON: ${(e as Error).message}`, value: line.slice(0, 200) });
      return;
    }
    const r = AccessLogRecord.safeParse(value);
    if (!r.success) {
      problems.push(...problemsOf(r.error, value, where));
      return;
    }
    // The store keys records by time, so a time it cannot read would fail the whole insert later.
    if (Number.isNaN(Date.parse(r.data.time))) {
      problems.push({ path: `${where}.time`, message: 'expected an ISO timestamp', value: r.data.time });
      return;
    }
    records.push(r.data);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, SHOWN).map((p) => `${p.path}: ${p.message}`);
    if (problems.length > SHOWN) shown.push(`and ${problems.length - SHOWN} more`);
    throw new ApiError('TP_API_INVALID', `access-log batch rejected: ${shown.join('; ')}`, { problems });
  }
  return records;
}
