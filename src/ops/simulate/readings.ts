/**
 * Plausible greenhouse readings and the bad messages a misbehaving device sends. Pure: time and
 * randomness come in as arguments, so the shapes can be tested.
 */

export type Rng = () => number;

export interface Reading {
  humiditeAmbiante: number;
  temperatureAmbiante: number;
  humiditeSol: number;
}

/**
 * A simulated day lasts 24 real minutes (one minute per hour) so that a demo shows the
 * temperature rise and fall; a real day would look flat on any chart of a short run.
 */
export const SIMULATED_DAY_MS = 24 * 60_000;

const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));
const round1 = (v: number) => Math.round(v * 10) / 10;
/** Noise in [-amplitude, amplitude]. */
const noise = (rng: Rng, amplitude: number) => (rng() * 2 - 1) * amplitude;

/** Per bac: soil that dries out slowly and is watered when it gets dry. */
export interface BacState {
  soil: number;
  /** Each serre is a little warmer or cooler than the others. */
  offset: number;
}

export function newBacState(rng: Rng, serreOffset: number): BacState {
  return { soil: 45 + rng() * 30, offset: serreOffset };
}

/** Temperature peaks mid-afternoon of the simulated day (°C, 10..35). */
export function temperatureAt(timeMs: number, offset: number, rng: Rng): number {
  const phase = ((timeMs % SIMULATED_DAY_MS) / SIMULATED_DAY_MS) * 2 * Math.PI;
  // -cos puts the minimum at "midnight"; shifted so the peak is around 15:00.
  const daily = -Math.cos(phase - Math.PI / 4) * 8;
  return round1(clamp(22 + offset + daily + noise(rng, 0.6), 10, 35));
}

export function nextReading(timeMs: number, bac: BacState, rng: Rng): Reading {
  const temperatureAmbiante = temperatureAt(timeMs, bac.offset, rng);
  // Warm air holds more water, so relative humidity falls when the greenhouse warms up.
  const humiditeAmbiante = round1(clamp(65 - (temperatureAmbiante - 22) * 1.8 + noise(rng, 3), 40, 90));
  bac.soil -= 0.2 + rng() * 0.3;
  if (bac.soil < 25) bac.soil = 70 + rng() * 10; // watered
  const humiditeSol = round1(clamp(bac.soil + noise(rng, 0.5), 20, 80));
  return { humiditeAmbiante, temperatureAmbiante, humiditeSol };
}

export const BAD_KINDS = ['invalid_json', 'unknown_sensor', 'out_of_range', 'string_value', 'unknown_bac'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

export interface Message {
  topic: string;
  payload: string;
}

export function readingTopic(serre: number, bac: number): string {
  return `serre/${serre}/bac/${bac}`;
}

/** A bac number no serre has: above every simulated bac, and 999 as long as that is free. */
export function unknownBac(bacs: number): number {
  return Math.max(999, bacs + 1);
}

/** One bad message of `kind` as a device in `serre`, box `bac`, could send it. */
export function badMessage(kind: BadKind, serre: number, bac: number, bacs: number, rng: Rng): Message {
  const topic = readingTopic(serre, bac);
  switch (kind) {
    case 'invalid_json':
      // A payload cut short, as a buffer overflow in the firmware would send it.
      return { topic, payload: `{"humiditeAmbiante": ${round1(40 + rng() * 50)}, "temperatureAmb` };
    case 'unknown_sensor':
      return { topic, payload: JSON.stringify({ luminosite: Math.round(200 + rng() * 800) }) };
    case 'out_of_range':
      return { topic, payload: JSON.stringify({ humiditeSol: round1(101 + rng() * 99) }) };
    case 'string_value':
      return { topic, payload: JSON.stringify({ temperatureAmbiante: String(round1(15 + rng() * 15)) }) };
    case 'unknown_bac':
      return { topic: readingTopic(serre, unknownBac(bacs)), payload: JSON.stringify({ humiditeSol: round1(20 + rng() * 60) }) };
  }
}

export function pickBadKind(rng: Rng): BadKind {
  return BAD_KINDS[Math.min(BAD_KINDS.length - 1, Math.floor(rng() * BAD_KINDS.length))]!;
}
