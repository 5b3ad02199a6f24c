/**
 * Throughput over the last minutes, for the status page: every interval it records how many
 * messages were received and how many rows were written since the previous sample. The
 * counters are the Prometheus ones, so the page and `/metrics` can never disagree.
 */
import { counterTotal, type CounterLike } from './counter-values.js';

export interface ThroughputSample {
  /** End of the window, epoch ms. */
  at: number;
  /** Length of the window in seconds (the live window is shorter than the interval). */
  seconds: number;
  received: number;
  written: number;
}

export interface ThroughputOptions {
  intervalMs?: number;
  /** Samples kept; 90 × 10 s = the last 15 minutes. */
  capacity?: number;
  now?: () => number;
}

interface Totals {
  at: number;
  received: number;
  written: number;
}

export class ThroughputSampler {
  readonly intervalMs: number;
  readonly capacity: number;
  private readonly now: () => number;
  private readonly ring: ThroughputSample[] = [];
  /** Index where the next sample goes once the ring is full. */
  private head = 0;
  private last: Totals | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Serialises ticks so that a slow counter read never produces two samples for one window. */
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    /** Usually the bridge's `Metrics`. */
    private readonly counters: { messagesReceived: CounterLike; rowsWritten: CounterLike },
    opts: ThroughputOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.capacity = opts.capacity ?? 90;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Takes the baseline, then samples every interval; resolves once the baseline is read (the
   * counters are read asynchronously). Idempotent.
   */
  start(): Promise<void> {
    if (this.timer) return this.ticking;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    // The sampler only feeds a web page: it must never keep the process alive on shutdown.
    this.timer.unref();
    return this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one sample (the first call only sets the baseline). Public so tests drive the clock. */
  tick(): Promise<void> {
    this.ticking = this.ticking.then(() => this.sample()).catch(() => undefined);
    return this.ticking;
  }

  /** Complete samples, oldest first. */
  samples(): ThroughputSample[] {
    return [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }

  /** The window in progress (since the last sample), or undefined before the baseline. */
  async current(): Promise<ThroughputSample | undefined> {
    const last = this.last;
    if (!last) return undefined;
    return this.delta(last, await this.read());
  }

  private async sample(): Promise<void> {
    const totals = await this.read();
    const last = this.last;
    this.last = totals;
    if (!last) return;
    this.push(this.delta(last, totals));
  }

  private delta(from: Totals, to: Totals): ThroughputSample {
    // A counter never goes down in one process; clamp anyway so a reset draws 0, not a negative bar.
    return {
      at: to.at,
      seconds: Math.max(0, (to.at - from.at) / 1000),
      received: Math.max(0, to.received - from.received),
      written: Math.max(0, to.written - from.written),
    };
  }

  private async read(): Promise<Totals> {
    const at = this.now();
    const [received, written] = await Promise.all([
      counterTotal(this.counters.messagesReceived),
      counterTotal(this.counters.rowsWritten),
    ]);
    return { at, received, written };
  }

  private push(sample: ThroughputSample): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(sample);
      return;
    }
    this.ring[this.head] = sample;
    this.head = (this.head + 1) % this.capacity;
  }
}
