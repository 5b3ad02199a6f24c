/**
 * The greenhouse watch: fed with the readings the drain commits and the count of readings the
 * broker delivers, it says when a sensor goes silent or comes back, and when no reading arrives
 * at all. One WARN / INFO line per transition (sensors that change together share a line), the
 * state for /metrics, and the « Bacs » part of the status page.
 */
import type { Pool } from '../db/pool.js';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { WatchState } from '../metrics.js';
import type { DrainObserver } from '../pipeline/drain-ports.js';
import { formatDateTime, monotonicMs } from '../time.js';
import { loadBacDirectory, type BacDirectory } from './bac-directory.js';
import { readLastReadings } from './last-readings.js';
import { ReadingsSilence } from './readings-silence.js';
import { SensorTracker, type SensorState } from './sensor-tracker.js';
import { bacsView, type WatchView } from './watch-view.js';

export interface WatchOptions {
  silenceAfterMs: number;
  noReadingsWarnAfterMs: number;
  /** How often the bacs and capteurs are read again from the database. */
  directoryRefreshMs: number;
  /** The CN of the bridge's certificate, named in the "no readings" WARN. */
  certificateCn: string | undefined;
}

export interface WatchSources {
  pool: Pool;
  /** Connected with subscriptions granted. */
  subscribed: () => boolean;
  /** Messages received on serre/+/bac/+ since the start. */
  readingsReceived: () => Promise<number>;
  /** Age of the oldest journal entry not yet in the database, in ms (0 when caught up). */
  lagMs: () => number;
}

export interface Clock {
  wall(): number;
  mono(): number;
}

const SYSTEM_CLOCK: Clock = { wall: Date.now, mono: monotonicMs };
/** Sensors named in one log line; the rest are counted. */
const SENSORS_PER_LINE = 20;
const DIRECTORY_RETRY_MS = 5_000;
/** MySQL / MariaDB: the account lacks SELECT on the table or column. */
const ACCESS_DENIED = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR']);

export class GreenhouseWatch {
  private readonly tracker: SensorTracker;
  private readonly silence: ReadingsSilence;
  private directory: BacDirectory | undefined;
  private directoryDueMono = Number.NEGATIVE_INFINITY;
  private seeded = false;
  private listeningSinceMono: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  readonly tickMs: number;

  /** Tells the watch what each committed batch wrote to `mesure`. */
  readonly observer: DrainObserver = {
    batchCommitted: (stats) => {
      if (stats.readings.length > 0) this.tracker.record(stats.readings, this.clock.wall(), this.clock.mono());
    },
    entriesWrittenAgain: () => undefined,
    transactionConflict: () => undefined,
    entriesNotRefilled: () => undefined,
    databaseState: () => undefined,
  };

  constructor(
    private readonly opts: WatchOptions,
    private readonly sources: WatchSources,
    private readonly log: Logger,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.tracker = new SensorTracker(opts.silenceAfterMs);
    this.silence = new ReadingsSilence(opts.noReadingsWarnAfterMs);
    // Often enough that a transition is logged within a fraction of its delay, at most every 5 s.
    this.tickMs = Math.min(5_000, Math.max(200, Math.min(opts.silenceAfterMs, opts.noReadingsWarnAfterMs) / 4));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    // The watch only reports: it must never keep the process alive on shutdown.
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** One look at every sensor and at the readings counter; ticks never overlap. */
  tick(): Promise<void> {
    this.ticking ??= this.look()
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'greenhouse watch failed'))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async look(): Promise<void> {
    const nowMono = this.clock.mono();
    const subscribed = this.sources.subscribed();
    if (!subscribed) this.listeningSinceMono = undefined;
    else this.listeningSinceMono ??= nowMono;
    if (nowMono >= this.directoryDueMono) await this.refreshDirectory();

    const { silent, back } = this.tracker.judge({ nowMono, lagMs: this.sources.lagMs(), listeningSinceMono: this.listeningSinceMono });
    if (silent.length > 0) {
      this.log.warn(
        { count: silent.length, silentNow: this.tracker.silentCount, silenceAfterSeconds: this.opts.silenceAfterMs / 1000, ...this.named(silent) },
        'sensors silent: no reading for longer than SILENCE_AFTER (device off, Wi-Fi, battery, probe, or a key missing from its payload)',
      );
    }
    if (back.length > 0) {
      this.log.info({ count: back.length, silentNow: this.tracker.silentCount, ...this.named(back) }, 'sensors reporting again');
    }

    const received = await this.sources.readingsReceived();
    const change = this.silence.update(received, this.clock.mono(), this.clock.wall(), this.listeningSinceMono);
    if (change === 'silent') this.warnNoReadings(nowMono);
    if (change === 'back') this.log.info('readings arrive again after a period without any');
  }

  private warnNoReadings(nowMono: number): void {
    const cn = this.opts.certificateCn;
    this.log.warn(
      {
        silentForSeconds: Math.round(this.silence.silentForMs(nowMono, this.listeningSinceMono) / 1000),
        certificateCn: cn ?? null,
        likelyCauses: [
          cn
            ? `the broker's ACL does not let the bridge's certificate CN "${cn}" read serre/+/bac/+ (mosquitto/config/acl)`
            : "the broker's ACL does not let the bridge's identity read serre/+/bac/+",
          'the devices are off, or cannot connect to the broker (Wi-Fi, certificates)',
        ],
      },
      'subscribed but no reading received for NO_READINGS_WARN_AFTER',
    );
  }

  /** Reads the bacs and capteurs again, forgets removed ones, and seeds once from `mesure`. */
  private async refreshDirectory(): Promise<void> {
    let directory: BacDirectory;
    try {
      directory = await loadBacDirectory(this.sources.pool);
    } catch (err) {
      this.directoryDueMono = this.clock.mono() + Math.min(DIRECTORY_RETRY_MS, this.opts.directoryRefreshMs);
      this.log.debug({ err: errorMessage(err) }, 'greenhouse watch: bacs not read; retrying');
      return;
    }
    this.directory = directory;
    this.directoryDueMono = this.clock.mono() + this.opts.directoryRefreshMs;
    const removed = this.tracker.keepOnly((id) => directory.bacs.has(id), (id) => directory.capteurs.has(id));
    if (removed > 0) this.log.info({ removed }, 'sensors of bacs or capteurs removed from the database are no longer watched');
    if (!this.seeded) await this.seed();
  }

  /** The last reading of each sensor from `mesure`, so that a restart does not forget them. */
  private async seed(): Promise<void> {
    try {
      const started = this.clock.mono();
      const { readings, method } = await readLastReadings(this.sources.pool);
      const nowWall = this.clock.wall();
      const nowMono = this.clock.mono();
      for (const r of readings) this.tracker.set(r.bac, r.capteur, r.value, r.atWall, nowWall, nowMono);
      this.seeded = true;
      this.log.info({ sensors: readings.length, method, ms: Math.round(nowMono - started) }, 'greenhouse watch: last reading of each sensor read from mesure');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && ACCESS_DENIED.has(code)) {
        this.seeded = true; // asking again would fail the same way
        this.log.warn(
          { code },
          'greenhouse watch: the database account may not read mesure (SELECT); sensors are known from their first reading after this start',
        );
      } else {
        this.log.debug({ err: errorMessage(err) }, 'greenhouse watch: last readings not read; retrying');
      }
    }
  }

  private named(sensors: SensorState[]): { sensors: string[]; more?: number } {
    const names = sensors.slice(0, SENSORS_PER_LINE).map((s) => `${this.describe(s)}, last reading ${formatDateTime(s.atWall)}`);
    return sensors.length > SENSORS_PER_LINE ? { sensors: names, more: sensors.length - SENSORS_PER_LINE } : { sensors: names };
  }

  private describe(s: SensorState): string {
    const bac = this.directory?.bacs.get(s.bac);
    const capteur = this.directory?.capteurs.get(s.capteur);
    const where = bac ? `serre ${bac.serre} bac ${bac.numero}` : `bac id ${s.bac}`;
    return `${where} ${capteur ? capteur.type : `capteur id ${s.capteur}`}`;
  }

  /** For /metrics, read at scrape time. */
  metricsState(): WatchState {
    return {
      silent: this.tracker.silentCount,
      subscribedWithoutReadingsSeconds: this.silence.silentForMs(this.clock.mono(), this.listeningSinceMono) / 1000,
      forEachSensor: (visit) => {
        const directory = this.directory;
        if (!directory) return;
        for (const s of this.tracker.all()) {
          const bac = directory.bacs.get(s.bac);
          const capteur = directory.capteurs.get(s.capteur);
          if (bac && capteur) visit(bac.serre, bac.numero, capteur.type, s.atWall);
        }
      },
    };
  }

  get silentSensors(): number {
    return this.tracker.silentCount;
  }

  view(): WatchView {
    const nowMono = this.clock.mono();
    const last = this.silence.lastReadingAt;
    return {
      bacs: bacsView(this.tracker, this.directory, nowMono),
      readings: {
        subscribed: this.listeningSinceMono !== undefined,
        silent: this.silence.silent,
        silentForSeconds: Math.round(this.silence.silentForMs(nowMono, this.listeningSinceMono) / 1000),
        warnAfterSeconds: this.opts.noReadingsWarnAfterMs / 1000,
        lastReadingAt: last === undefined ? null : formatDateTime(last),
        certificateCn: this.opts.certificateCn ?? null,
      },
    };
  }
}
