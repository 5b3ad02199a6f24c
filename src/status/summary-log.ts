/**
 * One INFO line per interval that says how the bridge is doing: messages received and rows
 * written (with rates), errors by type, the journal backlog, the connection states, and how many
 * sensors are silent.
 */
import type { Logger } from '../logger.js';
import type { JournalState, Metrics } from '../metrics.js';
import type { Readiness } from '../http/server.js';
import { counterByLabel } from './counter-values.js';

/** A counter's values by label value. */
type Totals = Map<string, number>;

function sum(totals: Totals): number {
  let n = 0;
  for (const v of totals.values()) n += v;
  return n;
}

function delta(from: Totals | undefined, to: Totals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of to) {
    const d = value - (from?.get(key) ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}

export class SummaryLog {
  private timer: NodeJS.Timeout | undefined;
  private last: { at: number; received: Totals; written: Totals; errors: Totals } | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly journal: () => JournalState,
    private readonly readiness: () => Readiness,
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    /** Silent sensors now (greenhouse watch). */
    private readonly sensorsSilent: () => number = () => 0,
  ) {}

  async start(): Promise<void> {
    this.last = await this.read();
    this.timer = setInterval(() => void this.write().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async read() {
    const [received, written, errors] = await Promise.all([
      counterByLabel(this.metrics.messagesReceived, 'kind'),
      counterByLabel(this.metrics.rowsWritten, 'table'),
      counterByLabel(this.metrics.errors, 'type'),
    ]);
    return { at: Date.now(), received, written, errors };
  }

  private async write(): Promise<void> {
    const now = await this.read();
    const last = this.last;
    this.last = now;
    const seconds = last ? (now.at - last.at) / 1000 : 0;
    const received = sum(now.received) - (last ? sum(last.received) : 0);
    const written = sum(now.written) - (last ? sum(last.written) : 0);
    const journal = this.journal();
    this.log.info(
      {
        seconds: Math.round(seconds),
        received,
        receivedPerSecond: seconds > 0 ? Math.round((received / seconds) * 10) / 10 : 0,
        rowsWritten: delta(last?.written, now.written),
        rowsPerSecond: seconds > 0 ? Math.round((written / seconds) * 10) / 10 : 0,
        errors: delta(last?.errors, now.errors),
        backlog: { entries: journal.entries, bytes: journal.bytes, oldestAgeSeconds: Math.round(journal.oldestAgeSeconds) },
        sensorsSilent: this.sensorsSilent(),
        ...this.readiness(),
      },
      'summary',
    );
  }
}
