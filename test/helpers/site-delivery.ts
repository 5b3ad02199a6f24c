/**
 * What the schools send and what reached the central side, school by school. Every school
 * publishes on the same topics (each has a serre/1/bac/1); school k's reading i carries
 * humiditeAmbiante = (k * 5000 + i) / 100, so a reading that surfaced under another school's
 * prefix shows up as unexpected there. A reading's key is "<bac>:<value in hundredths>".
 */
import type { MqttClient } from 'mqtt';
import { waitFor } from './wait.js';

/** Readings of one school per device's bac; at most this many per device. */
export const READINGS_PER_SCHOOL_INDEX = 5_000;

export const readingKey = (bac: number, hundredths: number): string => `${bac}:${hundredths}`;

/**
 * The central side as the central bridge will see it. The test helper is a persistent QoS 1
 * subscriber (site-central-subscriber.ts); the same questions can be answered from each school's
 * database once the bridge routes schools (mesure rows, controleur.status).
 */
export interface CentralSink {
  /** How many times each reading of `school` reached the central side, by readingKey. */
  readings(school: string): Promise<Map<string, number>>;
  /** The controller's state after its last event there: true online, false offline (Last Will). */
  controllerOnline(school: string, mac: string): Promise<boolean | undefined>;
  close(): Promise<void>;
}

export interface SchoolDevice {
  client: MqttClient;
  bac: number;
  /** 0 as PubSubClient publishes, 1 for devices that can. */
  qos: 0 | 1;
}

/** Each device of a school publishes one reading every `intervalMs` to serre/1/bac/<bac>. */
export class SchoolReadings {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private readonly pending = new Set<Promise<unknown>>();
  readonly sent = new Set<string>();

  constructor(
    private readonly schoolIndex: number,
    private readonly devices: SchoolDevice[],
    private readonly intervalMs: number,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      if (this.next >= READINGS_PER_SCHOOL_INDEX) return;
      const hundredths = this.schoolIndex * READINGS_PER_SCHOOL_INDEX + this.next++;
      for (const { client, bac, qos } of this.devices) {
        this.sent.add(readingKey(bac, hundredths));
        const p = client.publishAsync(`serre/1/bac/${bac}`, JSON.stringify({ humiditeAmbiante: hundredths / 100 }), { qos });
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      }
    }, this.intervalMs);
    return this;
  }

  /** Stops and waits until each reading was acknowledged (QoS 1) or written to the socket (QoS 0). */
  async stop(): Promise<Set<string>> {
    clearInterval(this.timer);
    await Promise.all([...this.pending]);
    return this.sent;
  }
}

export interface SchoolDelivery {
  expected: number;
  /** Distinct readings that arrived. */
  unique: number;
  lost: number;
  /** Copies beyond the first. */
  duplicated: number;
  /** Readings that were never sent by this school (another school's, under this prefix). */
  unexpected: number;
}

export function compareDelivery(sent: ReadonlySet<string>, received: ReadonlyMap<string, number>): SchoolDelivery {
  let unique = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const [key, n] of received) {
    if (!sent.has(key)) unexpected += n;
    else {
      unique++;
      duplicated += n - 1;
    }
  }
  return { expected: sent.size, unique, lost: sent.size - unique, duplicated, unexpected };
}

/** Waits until every reading of `school` arrived and nothing more is coming, then says what arrived. */
export function waitForSchoolDelivery(sink: CentralSink, school: string, sent: ReadonlySet<string>, timeoutMs = 90_000): Promise<SchoolDelivery> {
  let previous: SchoolDelivery | undefined;
  return waitFor(
    `every reading of ${school} at the central side, and no more coming`,
    async () => {
      const d = compareDelivery(sent, await sink.readings(school));
      const settled = previous !== undefined && d.lost === 0 && JSON.stringify(previous) === JSON.stringify(d);
      previous = d;
      return settled ? d : undefined;
    },
    timeoutMs,
    1_000,
  );
}
