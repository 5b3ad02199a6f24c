/**
 * Keeps a device that floods bad messages from flooding the `error` table: per (type, topic),
 * at most `limit` rows per window; the rest are counted and written as one summary row when
 * the window is over. Windows follow the entries' receipt times, so a replay after a restart
 * behaves like the first pass.
 *
 * Why receipt times and not the monotonic clock: a backlog written after an outage is processed
 * in seconds, and must be limited per minute of receipt, as it would have been at the time; the
 * monotonic clock does not survive a restart either. Receipt times are wall-clock times, so a
 * clock stepped back (NTP step, VM restore) would make `at - start` negative for as long as the
 * step, and a window would then suppress everything for that long. Entries come in journal
 * order, in which receipt times only go back when the clock did: a time before its window's
 * start therefore ends the window (its summary is written) and opens a new one.
 *
 * Above the per-topic limit, a global budget (error-budget.ts) bounds the rows of a minute
 * across all topics, summaries included.
 *
 * Decisions are tentative until the batch that carries them is committed (`LimiterTx`), so a
 * batch retried after a database failure is limited exactly once.
 */
import { fr } from '../decode/messages-fr.js';
import type { ErrorRow, ErrorType } from '../decode/types.js';
import { formatTime } from '../time.js';
import { isExempt, openWindow, summaries, withRowWritten, withSuppressed, type BudgetWindow } from './error-budget.js';

interface Window {
  type: ErrorType;
  topic: string;
  start: number;
  written: number;
  suppressed: number;
  firstSuppressedAt: number;
  lastSuppressedAt: number;
}

/** Past this many keys (random topics from a broken device), keys share one per type. */
const MAX_KEYS = 10_000;
const OVERFLOW_TOPIC = '*';

export class ErrorRateLimiter {
  private windows = new Map<string, Window>();
  private budget: BudgetWindow | undefined;

  /** `budgetPerMinute`: rows of all topics together per window (ERROR_BUDGET_PER_MINUTE). */
  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    readonly budgetPerMinute = Number.POSITIVE_INFINITY,
  ) {}

  /** A window is over a full window after its start, or at once when the clock went back before its start. */
  isOver(window: { start: number }, at: number): boolean {
    return at >= window.start + this.windowMs || at < window.start;
  }

  /**
   * Forgets every window: the drain writes entries again from an earlier point (recovery.ts),
   * and windows opened by later receipt times would take the earlier ones for a clock step.
   */
  reset(): void {
    this.windows = new Map();
    this.budget = undefined;
  }

  begin(): LimiterTx {
    return new LimiterTx(this, this.windows, this.budget);
  }

  /** @internal */
  apply(changes: Map<string, Window | undefined>, budget: BudgetWindow | undefined): void {
    for (const [key, window] of changes) {
      if (window) this.windows.set(key, window);
      else this.windows.delete(key);
    }
    this.budget = budget;
  }
}

export class LimiterTx {
  private readonly changes = new Map<string, Window | undefined>();
  /** The latest receipt time this transaction has seen: the budget's clock. */
  private latestAt = Number.NEGATIVE_INFINITY;
  suppressedByType = new Map<ErrorType, number>();

  constructor(
    private readonly limiter: ErrorRateLimiter,
    private readonly base: ReadonlyMap<string, Window>,
    private budget: BudgetWindow | undefined,
  ) {}

  /**
   * Takes `count` rows (one row, or what a per-topic summary stands for) from the budget of the
   * minute that `now` is in; false when they go into that minute's summary instead.
   */
  private admit(row: ErrorRow, count: number, at: number, out: ErrorRow[]): boolean {
    if (!Number.isFinite(this.limiter.budgetPerMinute) || isExempt(row)) return true;
    // Within one batch, rows the database refused come after the decoded ones with earlier
    // receipt times: that is no clock step back, and must not open a fresh budget.
    this.latestAt = Math.max(this.latestAt, at);
    const now = this.latestAt;
    if (!this.budget || this.limiter.isOver(this.budget, now)) {
      if (this.budget) out.push(...summaries(this.budget, this.limiter.budgetPerMinute));
      this.budget = openWindow(now);
    }
    if (this.budget.written < this.limiter.budgetPerMinute) {
      this.budget = withRowWritten(this.budget);
      return true;
    }
    this.budget = withSuppressed(this.budget, row.type, count, row.at);
    return false;
  }

  /** A per-topic summary row, unless the budget is spent: then its count joins the budget's. */
  private pushSummary(w: Window, now: number, out: ErrorRow[]): void {
    const summary = this.summary(w);
    if (summary && this.admit(summary, w.suppressed, now, out)) out.push(summary);
  }

  private countSuppressed(type: ErrorType): void {
    this.suppressedByType.set(type, (this.suppressedByType.get(type) ?? 0) + 1);
  }

  private get(key: string): Window | undefined {
    return this.changes.has(key) ? this.changes.get(key) : this.base.get(key);
  }

  private hasRoomForKey(): boolean {
    if (this.base.size + this.changes.size < MAX_KEYS) return true;
    let n = this.base.size;
    for (const [key, w] of this.changes) {
      if (w && !this.base.has(key)) n++;
      if (!w && this.base.has(key)) n--;
    }
    return n < MAX_KEYS;
  }

  private keyOf(row: ErrorRow): { key: string; topic: string } {
    const key = `${row.type}\u0000${row.topic}`;
    if (this.get(key) !== undefined || this.hasRoomForKey()) return { key, topic: row.topic };
    return { key: `${row.type}\u0000${OVERFLOW_TOPIC}`, topic: OVERFLOW_TOPIC };
  }

  /** The rows to write now, summaries of finished windows included, in time order. */
  filter(rows: ErrorRow[]): ErrorRow[] {
    const out: ErrorRow[] = [];
    for (const row of rows) {
      const { key, topic } = this.keyOf(row);
      let window = this.get(key);
      if (window && this.limiter.isOver(window, row.at)) {
        this.pushSummary(window, row.at, out);
        window = undefined;
      }
      window = window
        ? { ...window }
        : { type: row.type, topic, start: row.at, written: 0, suppressed: 0, firstSuppressedAt: 0, lastSuppressedAt: 0 };
      if (window.written < this.limiter.limit) {
        window.written++;
        if (this.admit(row, 1, row.at, out)) out.push(row);
        else this.countSuppressed(row.type);
      } else {
        if (window.suppressed === 0) window.firstSuppressedAt = row.at;
        window.suppressed++;
        window.lastSuppressedAt = row.at;
        this.countSuppressed(row.type);
      }
      this.changes.set(key, window);
    }
    return out;
  }

  /** Summaries of windows that ended before `now`; idle windows are forgotten. */
  flush(now: number): ErrorRow[] {
    const out: ErrorRow[] = [];
    const keys = new Set([...this.base.keys(), ...this.changes.keys()]);
    for (const key of keys) {
      const window = this.get(key);
      if (!window || !this.limiter.isOver(window, now)) continue;
      this.pushSummary(window, now, out);
      this.changes.set(key, undefined);
    }
    if (this.budget && this.limiter.isOver(this.budget, now)) {
      out.push(...summaries(this.budget, this.limiter.budgetPerMinute));
      this.budget = undefined;
    }
    return out;
  }

  commit(): void {
    this.limiter.apply(this.changes, this.budget);
  }

  private summary(w: Window): ErrorRow | undefined {
    if (w.suppressed === 0) return undefined;
    return {
      type: w.type,
      topic: w.topic,
      at: w.lastSuppressedAt,
      valeur: String(w.suppressed),
      message: fr.suppressed(w.suppressed, w.type, w.topic, formatTime(w.firstSuppressedAt), formatTime(w.lastSuppressedAt)),
    };
  }
}
