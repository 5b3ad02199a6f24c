import { describe, expect, it } from 'vitest';
import type { ErrorRow, ErrorType } from '../../src/decode/types.js';
import { ErrorRateLimiter } from '../../src/pipeline/error-rate-limiter.js';
import { formatTime } from '../../src/time.js';

const T0 = Date.UTC(2024, 4, 17, 10, 0, 0);
const MINUTE = 60_000;

function row(at: number, topic = 'serre/1/bac/1', type: ErrorType = 'INVALID_VALUE', n = 0): ErrorRow {
  return { type, topic, at, message: `msg ${n}`, valeur: String(n) };
}

/** `count` rows one second apart, starting at `start`. */
function rows(count: number, start = T0, topic = 'serre/1/bac/1', type: ErrorType = 'INVALID_VALUE'): ErrorRow[] {
  return Array.from({ length: count }, (_, i) => row(start + i * 1000, topic, type, i));
}

const isSummary = (r: ErrorRow) => r.message.includes('limitation du débit');

/** Filters and commits in one go, as a batch that reached the database. */
function pass(limiter: ErrorRateLimiter, input: ErrorRow[], flushAt?: number): ErrorRow[] {
  const tx = limiter.begin();
  const out = tx.filter(input);
  if (flushAt !== undefined) out.push(...tx.flush(flushAt));
  tx.commit();
  return out;
}

describe('ErrorRateLimiter', () => {
  it('uses a 60 s window by default', () => {
    expect(new ErrorRateLimiter(5).windowMs).toBe(60_000);
  });

  it('writes the first N rows of a (type, topic) and holds back the rest of the window', () => {
    const limiter = new ErrorRateLimiter(3);
    const input = rows(10);
    const out = pass(limiter, input);
    expect(out).toEqual(input.slice(0, 3));
  });

  it('writes rows below the limit untouched, with no summary', () => {
    const limiter = new ErrorRateLimiter(5);
    const input = rows(5);
    expect(pass(limiter, input)).toEqual(input);
    expect(pass(limiter, [], T0 + 10 * MINUTE)).toEqual([]);
  });

  it('writes one summary row with the count when the next row comes after the window', () => {
    const limiter = new ErrorRateLimiter(2);
    const first = rows(7); // T0 .. T0+6s: 2 written, 5 suppressed
    expect(pass(limiter, first)).toHaveLength(2);

    const late = row(T0 + MINUTE, 'serre/1/bac/1', 'INVALID_VALUE', 99);
    const out = pass(limiter, [late]);
    expect(out).toHaveLength(2);
    const [summary, next] = out;
    expect(next).toBe(late); // a new window: written
    expect(summary).toMatchObject({ type: 'INVALID_VALUE', topic: 'serre/1/bac/1', valeur: '5', at: T0 + 6000 });
    expect(summary!.message).toContain('5 autre(s) erreur(s) INVALID_VALUE');
    expect(summary!.message).toContain('« serre/1/bac/1 »');
    expect(summary!.message).toContain(formatTime(T0 + 2000)); // first suppressed
    expect(summary!.message).toContain(formatTime(T0 + 6000)); // last suppressed
  });

  it('puts the summary before the first row of the new window (time order)', () => {
    const limiter = new ErrorRateLimiter(1);
    const input = [...rows(3), row(T0 + 2 * MINUTE, 'serre/1/bac/1', 'INVALID_VALUE', 7)];
    const out = pass(limiter, input);
    expect(out.map((r) => (isSummary(r) ? 'summary' : r.valeur))).toEqual(['0', 'summary', '7']);
  });

  it('keeps rows up to 59.999 s after the window start in the same window', () => {
    const limiter = new ErrorRateLimiter(1);
    const out = pass(limiter, [row(T0), row(T0 + MINUTE - 1), row(T0 + MINUTE)]);
    expect(out).toHaveLength(3); // row 1, summary of row 2, row 3 (new window)
    expect(isSummary(out[1]!)).toBe(true);
    expect(out[1]!.valeur).toBe('1');
    expect(out[2]!.at).toBe(T0 + MINUTE);
  });

  it('writes a summary via flush once the window is over, even without a new row', () => {
    const limiter = new ErrorRateLimiter(2);
    pass(limiter, rows(5));

    // Not yet over: nothing to flush.
    expect(pass(limiter, [], T0 + MINUTE - 1)).toEqual([]);

    const out = pass(limiter, [], T0 + MINUTE);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'INVALID_VALUE', topic: 'serre/1/bac/1', valeur: '3', at: T0 + 4000 });

    // Summarised once only.
    expect(pass(limiter, [], T0 + 5 * MINUTE)).toEqual([]);
  });

  it('starts a fresh window after a flush', () => {
    const limiter = new ErrorRateLimiter(2);
    pass(limiter, rows(5));
    pass(limiter, [], T0 + MINUTE);
    const again = rows(3, T0 + 2 * MINUTE);
    expect(pass(limiter, again)).toEqual(again.slice(0, 2));
  });

  it('keeps separate windows per topic', () => {
    const limiter = new ErrorRateLimiter(2);
    const a = rows(4, T0, 'serre/1/bac/1');
    const b = rows(4, T0, 'serre/1/bac/2');
    const out = pass(limiter, [...a, ...b]);
    expect(out).toEqual([a[0], a[1], b[0], b[1]]);
    const summaries = pass(limiter, [], T0 + MINUTE);
    expect(summaries.map((s) => [s.topic, s.valeur]).sort()).toEqual([
      ['serre/1/bac/1', '2'],
      ['serre/1/bac/2', '2'],
    ]);
  });

  it('keeps separate windows per error type on one topic', () => {
    const limiter = new ErrorRateLimiter(1);
    const v = rows(3, T0, 'serre/1/bac/1', 'INVALID_VALUE');
    const u = rows(3, T0, 'serre/1/bac/1', 'UNKNOWN_SENSOR');
    const out = pass(limiter, [...v, ...u]);
    expect(out).toEqual([v[0], u[0]]);
    const summaries = pass(limiter, [], T0 + MINUTE);
    expect(summaries.map((s) => [s.type, s.valeur]).sort()).toEqual([
      ['INVALID_VALUE', '2'],
      ['UNKNOWN_SENSOR', '2'],
    ]);
  });

  it('counts what it held back per type', () => {
    const limiter = new ErrorRateLimiter(1);
    const tx = limiter.begin();
    tx.filter([...rows(4, T0, 'a', 'INVALID_VALUE'), ...rows(3, T0, 'b', 'INVALID_VALUE'), ...rows(2, T0, 'a', 'BAC_NOT_FOUND')]);
    expect(Object.fromEntries(tx.suppressedByType)).toEqual({ INVALID_VALUE: 5, BAC_NOT_FOUND: 1 });
  });

  describe('transactions', () => {
    it('does not apply decisions until commit: a retried batch is limited once', () => {
      const limiter = new ErrorRateLimiter(2);
      const batch = rows(5);

      // First attempt: the database fails, nothing is committed.
      const failed = limiter.begin();
      expect(failed.filter(batch)).toEqual(batch.slice(0, 2));

      // Retry: same decisions, not "already 2 written".
      const retry = limiter.begin();
      expect(retry.filter(batch)).toEqual(batch.slice(0, 2));
      retry.commit();

      // After the commit the window is full.
      expect(pass(limiter, [row(T0 + 10_000)])).toEqual([]);
      const summary = pass(limiter, [], T0 + MINUTE);
      expect(summary).toHaveLength(1);
      expect(summary[0]!.valeur).toBe('4'); // 3 from the batch + 1, not 6 or 7
    });

    it('does not forget a summarised window when the flush is not committed', () => {
      const limiter = new ErrorRateLimiter(1);
      pass(limiter, rows(3));
      const failed = limiter.begin();
      expect(failed.flush(T0 + MINUTE)).toHaveLength(1);
      // not committed: the summary is still due
      const retry = limiter.begin();
      const out = retry.flush(T0 + MINUTE);
      expect(out).toHaveLength(1);
      expect(out[0]!.valeur).toBe('2');
      retry.commit();
      expect(pass(limiter, [], T0 + MINUTE)).toEqual([]);
    });

    it('sees its own tentative changes within one transaction', () => {
      const limiter = new ErrorRateLimiter(2);
      const tx = limiter.begin();
      expect(tx.filter(rows(1))).toHaveLength(1);
      expect(tx.filter(rows(1, T0 + 1000))).toHaveLength(1);
      expect(tx.filter(rows(1, T0 + 2000))).toHaveLength(0);
      const summary = tx.flush(T0 + MINUTE);
      expect(summary.map((s) => s.valeur)).toEqual(['1']);
    });

    it('leaves the limiter as it was when a transaction is dropped', () => {
      const limiter = new ErrorRateLimiter(1);
      limiter.begin().filter(rows(50));
      expect(pass(limiter, rows(3))).toHaveLength(1);
      expect(pass(limiter, [], T0 + MINUTE).map((s) => s.valeur)).toEqual(['2']);
    });
  });

  describe('many topics', () => {
    it('groups topics beyond 10 000 keys into one key per type', () => {
      const limiter = new ErrorRateLimiter(1);
      const many = Array.from({ length: 10_000 }, (_, i) => row(T0, `serre/${i}/bac/1`, 'BAC_NOT_FOUND', i));
      expect(pass(limiter, many)).toHaveLength(10_000);

      const extra = Array.from({ length: 5 }, (_, i) => row(T0 + 1000, `serre/x${i}/bac/1`, 'BAC_NOT_FOUND', 10_000 + i));
      const out = pass(limiter, extra);
      expect(out).toEqual([extra[0]]); // the shared key's first row, with its own topic kept
      expect(out[0]!.topic).toBe('serre/x0/bac/1');

      // A topic that already has a key keeps it.
      const known = row(T0 + 2000, 'serre/5/bac/1', 'BAC_NOT_FOUND', 5);
      expect(pass(limiter, [known])).toEqual([]);

      // The shared key's window started at T0 + 1 s.
      const summaries = pass(limiter, [], T0 + MINUTE + 1000);
      const shared = summaries.filter((s) => s.topic === '*');
      expect(shared).toHaveLength(1);
      expect(shared[0]!.valeur).toBe('4');
      expect(summaries.find((s) => s.topic === 'serre/5/bac/1')?.valeur).toBe('1');
    });

    it('gives topics their own key again once old windows are flushed', () => {
      const limiter = new ErrorRateLimiter(1);
      pass(limiter, Array.from({ length: 10_000 }, (_, i) => row(T0, `t/${i}`, 'UNEXPECTED_ERROR')));
      pass(limiter, [], T0 + MINUTE); // every window is over and forgotten
      const a = row(T0 + 2 * MINUTE, 'new/a', 'UNEXPECTED_ERROR');
      const b = row(T0 + 2 * MINUTE, 'new/b', 'UNEXPECTED_ERROR');
      expect(pass(limiter, [a, b])).toEqual([a, b]);
    });
  });
  describe('a wall clock stepped back (NTP step, VM restore)', () => {
    const HOUR = 60 * MINUTE;

    it('ends the window at the first row received before its start, instead of suppressing for an hour', () => {
      const limiter = new ErrorRateLimiter(2);
      expect(pass(limiter, rows(7))).toHaveLength(2); // T0 .. T0+6 s: 2 written, 5 suppressed

      const afterStep = rows(3, T0 + 10_000 - HOUR);
      const out = pass(limiter, afterStep);
      expect(out.map((r) => (isSummary(r) ? `summary ${r.valeur}` : r.valeur))).toEqual(['summary 5', '0', '1']);
      // The new window is limited as usual, from the new clock.
      expect(pass(limiter, rows(1, T0 + 20_000 - HOUR))).toEqual([]);
      expect(pass(limiter, rows(1, T0 + 10_000 - HOUR + MINUTE))).toHaveLength(2); // summary, then a new window
    });

    it('writes the summary of a window when the idle flush comes from before its start', () => {
      const limiter = new ErrorRateLimiter(1);
      pass(limiter, rows(4));
      const out = pass(limiter, [], T0 + 30_000 - HOUR);
      expect(out.map((r) => r.valeur)).toEqual(['3']);
      expect(pass(limiter, [row(T0 + 31_000 - HOUR)])).toHaveLength(1); // forgotten: a fresh window
    });
  });
});

describe('the global budget of error rows per minute (ERROR_BUDGET_PER_MINUTE)', () => {
  const isBudgetSummary = (r: ErrorRow) => r.message.includes('budget global');

  it('writes at most the budget from 10 000 distinct topics in a minute, then one summary with the rest', () => {
    const limiter = new ErrorRateLimiter(20, MINUTE, 100);
    const flood = Array.from({ length: 10_000 }, (_, i) => row(T0 + i * 5, `serre/999/bac/${i}`, 'BAC_NOT_FOUND', i));
    const written = pass(limiter, flood);
    expect(written).toHaveLength(100);
    expect(written.every((r) => !isBudgetSummary(r))).toBe(true);
    const summary = pass(limiter, [], T0 + MINUTE);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ type: 'BAC_NOT_FOUND', topic: '*', valeur: '9900' });
    expect(summary[0]!.message).toContain('9900 erreur(s) BAC_NOT_FOUND, tous topics confondus');
    expect(summary[0]!.message).toContain('budget global de 100 lignes');
  });

  it('never holds back the bridge’s own DB_ERROR and MQTT_DISCONNECT rows', () => {
    const limiter = new ErrorRateLimiter(20, MINUTE, 2);
    const out = pass(limiter, [...rows(5, T0, 'serre/1/bac/1'), row(T0 + 6000, '', 'DB_ERROR'), row(T0 + 7000, '', 'MQTT_DISCONNECT')]);
    expect(out.map((r) => r.type)).toEqual(['INVALID_VALUE', 'INVALID_VALUE', 'DB_ERROR', 'MQTT_DISCONNECT']);
  });

  it('folds per-topic summaries into its own when it is spent, so summaries are bounded too', () => {
    const limiter = new ErrorRateLimiter(1, MINUTE, 3);
    // 10 topics × 5 rows: per topic 1 written, 4 summarised; the budget lets 3 rows through.
    const input = Array.from({ length: 10 }, (_, t) => rows(5, T0 + t * 10, `serre/1/bac/${t}`)).flat();
    expect(pass(limiter, input)).toHaveLength(3);
    const after = pass(limiter, [], T0 + 2 * MINUTE);
    // The first minute's budget summary (the 7 first rows it held back), then the next minute's
    // budget takes 3 per-topic summaries; the 7 others fold into that minute's budget summary.
    expect(after.filter(isBudgetSummary).map((r) => r.valeur)).toEqual(['7']);
    const topicSummaries = after.filter(isSummary);
    expect(topicSummaries.map((r) => r.valeur)).toEqual(['4', '4', '4']);
    const last = pass(limiter, [], T0 + 4 * MINUTE);
    expect(last.map((r) => r.valeur)).toEqual(['28']);
    // 3 written + 3 × 4 + 7 + 28 summarised: each of the 50 rows is written or counted once.
    expect(isBudgetSummary(last[0]!)).toBe(true);
  });

  it('is not renewed within a batch by refused rows received earlier than its decoded errors', () => {
    const limiter = new ErrorRateLimiter(20, MINUTE, 3);
    const tx = limiter.begin();
    expect(tx.filter([row(T0 + 5000, 'serre/1/bac/1'), row(T0 + 6000, 'serre/1/bac/2'), row(T0 + 7000, 'serre/1/bac/3')])).toHaveLength(3);
    // The rows the database refused in the same batch come afterwards, with their own receipt times.
    expect(tx.filter([row(T0 + 1000, 'mesure/1', 'DB_INSERT_ERROR'), row(T0 + 2000, 'mesure/2', 'DB_INSERT_ERROR')])).toEqual([]);
  });

  it('is spent only by committed batches', () => {
    const limiter = new ErrorRateLimiter(20, MINUTE, 3);
    const tx = limiter.begin();
    expect(tx.filter(rows(3, T0, 'serre/1/bac/1'))).toHaveLength(3); // not committed: a failed batch
    expect(pass(limiter, rows(3, T0, 'serre/1/bac/1'))).toHaveLength(3);
  });
});
