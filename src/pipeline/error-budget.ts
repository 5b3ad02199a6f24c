/**
 * The global budget of `error` rows per minute, across every topic: the per-topic limit alone
 * lets a device publishing to thousands of random topics write thousands of rows a minute.
 * Past the budget, rows are counted per type and written as one summary row per type when the
 * minute is over. Windows follow receipt times, like the per-topic ones (error-rate-limiter.ts).
 */
import { fr } from '../decode/messages-fr.js';
import type { ErrorRow, ErrorType } from '../decode/types.js';
import { formatTime } from '../time.js';

/** The bridge's own events: rare, and what an operator needs most during a flood. */
const EXEMPT: ReadonlySet<ErrorType> = new Set<ErrorType>(['MQTT_DISCONNECT', 'DB_ERROR']);

/** What the summary row's topic says: every topic. */
export const EVERY_TOPIC = '*';

interface Tally {
  count: number;
  first: number;
  last: number;
}

export interface BudgetWindow {
  readonly start: number;
  readonly written: number;
  readonly suppressed: ReadonlyMap<ErrorType, Tally>;
}

export const isExempt = (row: ErrorRow) => EXEMPT.has(row.type);

export function openWindow(at: number): BudgetWindow {
  return { start: at, written: 0, suppressed: new Map() };
}

export function withRowWritten(w: BudgetWindow): BudgetWindow {
  return { ...w, written: w.written + 1 };
}

/** `count` rows of `type` received at `at` go into the summary instead. */
export function withSuppressed(w: BudgetWindow, type: ErrorType, count: number, at: number): BudgetWindow {
  const suppressed = new Map(w.suppressed);
  const t = suppressed.get(type);
  suppressed.set(type, t ? { count: t.count + count, first: Math.min(t.first, at), last: Math.max(t.last, at) } : { count, first: at, last: at });
  return { ...w, suppressed };
}

/** One summary row per type of what the window did not write. */
export function summaries(w: BudgetWindow, perMinute: number): ErrorRow[] {
  return [...w.suppressed].map(([type, t]) => ({
    type,
    topic: EVERY_TOPIC,
    at: t.last,
    valeur: String(t.count),
    message: fr.budgetSuppressed(t.count, type, perMinute, formatTime(t.first), formatTime(t.last)),
  }));
}
