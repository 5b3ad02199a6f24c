/**
 * What the status page and GET /api/status show of the watch: every serre and its bacs from
 * the database, the last value and age of each sensor, the silent ones, and whether any
 * reading arrives at all.
 */
import { formatDateTime } from '../time.js';
import type { BacDirectory } from './bac-directory.js';
import type { SensorTracker } from './sensor-tracker.js';

export interface CapteurView {
  /** `capteur.type`, the JSON key. */
  type: string;
  unite: string | null;
  value: number;
  /** Receipt time of the last reading, in the bridge's zone. */
  at: string;
  ageSeconds: number;
  silent: boolean;
}

export interface BacView {
  numero: number;
  /** Empty when the bac never reported (since the start, or in the latest `mesure` rows). */
  capteurs: CapteurView[];
}

export interface SerreView {
  numero: number;
  bacs: BacView[];
}

export interface BacsView {
  silenceAfterSeconds: number;
  sensors: number;
  silent: number;
  bacsWithoutReading: number;
  serres: SerreView[];
  /** Why `serres` is empty, in French; null once the bacs were read from the database. */
  unavailable: string | null;
}

export interface ReadingsView {
  subscribed: boolean;
  /** True from the WARN until readings arrive again. */
  silent: boolean;
  /** How long the bridge has been subscribed without any reading (0 while they arrive). */
  silentForSeconds: number;
  warnAfterSeconds: number;
  lastReadingAt: string | null;
  /** The CN of the bridge's certificate, the username the broker's ACL applies to. */
  certificateCn: string | null;
}

export interface WatchView {
  bacs: BacsView;
  readings: ReadingsView;
}

export function bacsView(tracker: SensorTracker, directory: BacDirectory | undefined, nowMono: number): BacsView {
  const base = { silenceAfterSeconds: tracker.silenceAfterMs / 1000, sensors: 0, silent: 0, bacsWithoutReading: 0 };
  if (!directory) return { ...base, serres: [], unavailable: 'liste des bacs pas encore lue dans la base de données' };
  const serres: SerreView[] = [];
  let sensors = 0;
  let silent = 0;
  let withoutReading = 0;
  for (const bac of directory.bacs.values()) {
    const capteurs: CapteurView[] = [];
    for (const [capteurId, s] of tracker.sensorsOf(bac.id) ?? []) {
      const capteur = directory.capteurs.get(capteurId);
      if (!capteur) continue;
      capteurs.push({
        type: capteur.type,
        unite: capteur.unite,
        value: s.value,
        at: formatDateTime(s.atWall),
        ageSeconds: Math.round(tracker.ageMs(s, nowMono) / 1000),
        silent: s.silent,
      });
      if (s.silent) silent += 1;
    }
    capteurs.sort((a, b) => a.type.localeCompare(b.type));
    sensors += capteurs.length;
    if (capteurs.length === 0) withoutReading += 1;
    // The directory is sorted by serre numero: a new serre starts a new group.
    const last = serres[serres.length - 1];
    const serre = last?.numero === bac.serre ? last : { numero: bac.serre, bacs: [] };
    if (serre !== last) serres.push(serre);
    serre.bacs.push({ numero: bac.numero, capteurs });
  }
  return { ...base, sensors, silent, bacsWithoutReading: withoutReading, serres, unavailable: null };
}
