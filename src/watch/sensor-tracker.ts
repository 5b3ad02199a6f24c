/**
 * The last reading of every sensor (bac × capteur) that reported, and which ones are silent.
 * Pure state: the caller passes the clocks. Ages are on the monotonic clock (a wall clock
 * stepped by NTP must not make every sensor silent at once); the wall time of each reading is
 * kept for what is shown and exported.
 */
import type { MesureRow } from '../decode/types.js';

export interface SensorState {
  /** `bac.id_bac` and `capteur.id_capteur`, as in `mesure`. */
  readonly bac: number;
  readonly capteur: number;
  value: number;
  /** Receipt time of the last reading (wall clock, epoch ms). */
  atWall: number;
  /** The same instant on the monotonic clock. */
  atMono: number;
  silent: boolean;
}

export interface Transitions {
  silent: SensorState[];
  back: SensorState[];
}

/** Where the bridge stands when sensors are judged. */
export interface Judgement {
  nowMono: number;
  /**
   * How far behind the database is (age of the oldest entry not yet written): readings
   * waiting in the journal are not silence, so ages are taken at `nowMono - lagMs`.
   */
  lagMs: number;
  /**
   * Start of the current subscribed period, undefined while not subscribed. A sensor is newly
   * declared silent only after the bridge has listened for a whole SILENCE_AFTER: right after
   * a start or a broker outage, devices have not had the time to report yet.
   */
  listeningSinceMono: number | undefined;
}

export class SensorTracker {
  private readonly bacs = new Map<number, Map<number, SensorState>>();
  private silentSensors = 0;
  private sensorCount = 0;

  constructor(readonly silenceAfterMs: number) {}

  get silentCount(): number {
    return this.silentSensors;
  }

  get size(): number {
    return this.sensorCount;
  }

  /** The readings of a committed batch, at the time of the commit. */
  record(rows: readonly MesureRow[], nowWall: number, nowMono: number): void {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      this.set(row.bac, row.capteur, row.value, row.at, nowWall, nowMono);
    }
  }

  /** One reading received at `atWall`; an older one than what is known is ignored. */
  set(bac: number, capteur: number, value: number, atWall: number, nowWall: number, nowMono: number): void {
    let sensors = this.bacs.get(bac);
    if (sensors === undefined) {
      sensors = new Map();
      this.bacs.set(bac, sensors);
    }
    const atMono = nowMono - Math.max(0, nowWall - atWall);
    const known = sensors.get(capteur);
    if (known === undefined) {
      sensors.set(capteur, { bac, capteur, value, atWall, atMono, silent: false });
      this.sensorCount += 1;
    } else if (atWall >= known.atWall) {
      known.value = value;
      known.atWall = atWall;
      known.atMono = atMono;
    }
  }

  /** Marks sensors silent or back; returns what changed since the last call. */
  judge({ nowMono, lagMs, listeningSinceMono }: Judgement): Transitions {
    const out: Transitions = { silent: [], back: [] };
    const at = nowMono - Math.max(0, lagMs);
    const listenedLongEnough = listeningSinceMono !== undefined && nowMono - listeningSinceMono >= this.silenceAfterMs;
    for (const sensors of this.bacs.values()) {
      for (const s of sensors.values()) {
        const quiet = at - s.atMono > this.silenceAfterMs;
        if (s.silent && !quiet) {
          s.silent = false;
          this.silentSensors -= 1;
          out.back.push(s);
        } else if (!s.silent && quiet && listenedLongEnough) {
          s.silent = true;
          this.silentSensors += 1;
          out.silent.push(s);
        }
      }
    }
    return out;
  }

  /** Age of a sensor's last reading, in ms, as `judge` sees it. */
  ageMs(s: SensorState, nowMono: number): number {
    return Math.max(0, nowMono - s.atMono);
  }

  /** Forgets the sensors of bacs or capteurs that are no longer in the database. */
  keepOnly(isBac: (id: number) => boolean, isCapteur: (id: number) => boolean): number {
    let removed = 0;
    for (const [bac, sensors] of this.bacs) {
      for (const [capteur, s] of sensors) {
        if (isBac(bac) && isCapteur(capteur)) continue;
        sensors.delete(capteur);
        removed += 1;
        if (s.silent) this.silentSensors -= 1;
      }
      if (sensors.size === 0) this.bacs.delete(bac);
    }
    this.sensorCount -= removed;
    return removed;
  }

  /** The sensors of one bac, by capteur id. */
  sensorsOf(bac: number): ReadonlyMap<number, SensorState> | undefined {
    return this.bacs.get(bac);
  }

  *all(): IterableIterator<SensorState> {
    for (const sensors of this.bacs.values()) yield* sensors.values();
  }
}
