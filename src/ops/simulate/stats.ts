/**
 * What the simulator did, by kind: readings, each kind of bad message, announcements, drops and
 * reconnects. Printed as a JSON line every 10 s at most, and as one summary line at the end.
 */

import { monotonicMs } from '../../time.js';

export const PROGRESS_EVERY_MS = 10_000;

/** Kinds that are messages on serre/+/bac/+ (what --count and --rate are about). */
export const BAC_KINDS = ['reading', 'invalid_json', 'unknown_sensor', 'out_of_range', 'string_value', 'unknown_bac'] as const;

export class Stats {
  private readonly counts = new Map<string, number>();
  /** On the monotonic clock, like every `now` given to this class: it measures durations. */
  readonly startedAt: number;

  constructor(now = monotonicMs()) {
    this.startedAt = now;
  }

  count(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Messages published on bac topics, good and bad. */
  bacMessages(): number {
    return BAC_KINDS.reduce((n, k) => n + this.get(k), 0);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  progressLine(now: number, extra: Record<string, number>): string {
    const seconds = (now - this.startedAt) / 1000;
    return JSON.stringify({
      msg: 'simulate progress',
      elapsedSeconds: Math.round(seconds),
      bacMessages: this.bacMessages(),
      ratePerSecond: seconds > 0 ? Math.round((this.bacMessages() / seconds) * 10) / 10 : 0,
      published: this.snapshot(),
      ...extra,
    });
  }

  summaryLine(now: number): string {
    const seconds = Math.max(0.001, (now - this.startedAt) / 1000);
    const total = this.bacMessages();
    const kinds = Object.entries(this.snapshot())
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    return `simulate: ${total} bac messages in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(1)}/s); by kind: ${kinds || 'none'}`;
  }
}
