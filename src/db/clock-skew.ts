/**
 * Compares the bridge's clock with the database server's. Receipt times (`mesure_a`,
 * `erreur_a`) come from the bridge's clock and the web app compares them with MySQL's NOW():
 * when the two clocks disagree by more than a minute, readings look late, early or missing there.
 * Checked on its own timer; a change past the limit is logged once (WARN), and its end too (INFO).
 */
import type { RowDataPacket } from 'mysql2';
import type { Logger } from '../logger.js';
import { errorMessage } from '../error-message.js';
import type { Pool } from './pool.js';

export const CLOCK_SKEW_LIMIT_SECONDS = 60;

export interface ClockSkewState {
  /** Bridge clock minus the database server's clock, in seconds; undefined before the first check. */
  skewSeconds: number | undefined;
  /**
   * The database session's UTC offset minus the bridge's (TZ), in seconds: NOW() and the
   * DATETIMEs the bridge writes differ by this much even with both clocks right. Shown, not
   * warned about: `mesure_a` is in TZ by contract, and a database container often runs in UTC.
   */
  zoneDifferenceSeconds: number | undefined;
  /** True while the clocks differ by more than the limit. */
  overLimit: boolean;
  /** Wall-clock time of the last successful check (epoch ms). */
  checkedAt: number | undefined;
}

export interface ClockReading {
  /** Bridge wall clock before and after the query (epoch ms). */
  before: number;
  after: number;
  /** The server's UTC_TIMESTAMP(3) and NOW(3), as DATETIME text. */
  dbUtc: string;
  dbLocal: string;
}

/** DATETIME text read as if it were UTC. */
const asUtc = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

/** Pure: the two differences a reading shows, in seconds. */
export function measureSkew(reading: ClockReading): { skewSeconds: number; zoneDifferenceSeconds: number } {
  // The server read its clock somewhere during the round trip: the middle is the best guess.
  const bridgeMs = (reading.before + reading.after) / 2;
  const dbOffsetMs = asUtc(reading.dbLocal) - asUtc(reading.dbUtc);
  const bridgeOffsetMs = -new Date(bridgeMs).getTimezoneOffset() * 60_000;
  return {
    skewSeconds: (bridgeMs - asUtc(reading.dbUtc)) / 1000,
    // Rounded to whole minutes: the two reads of NOW(3) and UTC_TIMESTAMP(3) may differ by a millisecond.
    zoneDifferenceSeconds: Math.round((dbOffsetMs - bridgeOffsetMs) / 60_000) * 60,
  };
}

export class ClockSkewMonitor {
  private current: ClockSkewState = { skewSeconds: undefined, zoneDifferenceSeconds: undefined, overLimit: false, checkedAt: undefined };
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly onSkew: (skewSeconds: number) => void,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** For the status page. */
  state(): ClockSkewState {
    return { ...this.current };
  }

  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check; a database that does not answer is the drain's business, not this one's. */
  check(): Promise<void> {
    this.checking ??= this.read()
      .then((reading) => this.record(reading))
      .catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'clock check skipped: the database did not answer'))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async read(): Promise<ClockReading> {
    const before = this.now();
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP(3) AS utc, NOW(3) AS local_now');
    const after = this.now();
    return { before, after, dbUtc: String(rows[0]!.utc), dbLocal: String(rows[0]!.local_now) };
  }

  private record(reading: ClockReading): void {
    const { skewSeconds, zoneDifferenceSeconds } = measureSkew(reading);
    const overLimit = Math.abs(skewSeconds) > CLOCK_SKEW_LIMIT_SECONDS;
    const details = { skewSeconds: Math.round(skewSeconds), zoneDifferenceSeconds, limitSeconds: CLOCK_SKEW_LIMIT_SECONDS };
    if (overLimit && !this.current.overLimit) {
      this.log.warn(details, "the bridge's clock and the database's differ by more than 60 s: receipt times disagree with NOW() in the web app (synchronise both hosts with NTP)");
    } else if (!overLimit && this.current.overLimit) {
      this.log.info(details, "the bridge's clock agrees with the database's again");
    }
    this.current = { skewSeconds, zoneDifferenceSeconds, overLimit, checkedAt: reading.after };
    this.onSkew(skewSeconds);
  }
}
