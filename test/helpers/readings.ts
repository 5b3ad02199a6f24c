/**
 * Readings whose values say who sent them: device d publishes to bac d of serre 1, message i
 * carries humiditeAmbiante = i / 100, so every row of `mesure` maps back to one message and a
 * lost or duplicated reading shows up in a GROUP BY.
 */
import type { MqttClient } from 'mqtt';
import type { TestDatabase } from './database.js';
import { waitFor } from './wait.js';
import type { RowDataPacket } from 'mysql2';

export const MAX_READINGS_PER_BAC = 10_000;

export function readingPayload(i: number): string {
  return JSON.stringify({ humiditeAmbiante: i / 100 });
}

export function publishAsync(client: MqttClient, topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
  return client.publishAsync(topic, payload, { qos }).then(() => undefined);
}

export interface Delivery {
  expected: number;
  rows: number;
  lost: number;
  duplicated: number;
}

/** Compares `mesure` with the readings 0..count-1 of each (serre 1, bac) in `sent`. */
export async function checkDelivery(db: TestDatabase, sent: Map<number, number>): Promise<Delivery> {
  let expected = 0;
  let lost = 0;
  let duplicated = 0;
  let rows = 0;
  for (const [bacNumero, count] of sent) {
    expected += count;
    const found = await db.query<RowDataPacket[]>(
      'SELECT ROUND(m.value * 100) AS i, count(*) AS n FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre ' +
        'WHERE s.numero = 1 AND b.numero = ? AND m.capteur = 1 GROUP BY ROUND(m.value * 100)',
      [bacNumero],
    );
    const seen = new Map(found.map((r) => [Number(r.i), Number(r.n)]));
    for (let i = 0; i < count; i++) {
      const n = seen.get(i) ?? 0;
      if (n === 0) lost++;
      if (n > 1) duplicated += n - 1;
      rows += n;
    }
  }
  return { expected, rows, lost, duplicated };
}

/**
 * Waits until `mesure` holds at least every reading of `sent` and its count has stopped moving
 * (so that duplicates written by a late replay are seen too), then says what it holds.
 */
export function waitForDelivery(db: TestDatabase, sent: Map<number, number>, timeoutMs = 120_000): Promise<Delivery> {
  let previous: Delivery | undefined;
  return waitFor(
    'every reading in mesure, and no more rows coming',
    async () => {
      const d = await checkDelivery(db, sent);
      const settled = previous !== undefined && previous.rows === d.rows && d.rows >= d.expected;
      previous = d;
      return settled ? d : undefined;
    },
    timeoutMs,
    1_000,
  );
}

/** Publishes `count` readings from each device as fast as the broker acknowledges them. */
export async function burst(devices: MqttClient[], count: number, firstBac = 1, qos: 0 | 1 = 1): Promise<Map<number, number>> {
  const sent = new Map<number, number>();
  await Promise.all(
    devices.map(async (device, d) => {
      const topic = `serre/1/bac/${firstBac + d}`;
      const pending: Promise<void>[] = [];
      for (let i = 0; i < count; i++) pending.push(publishAsync(device, topic, readingPayload(i), qos));
      await Promise.all(pending);
      sent.set(firstBac + d, count);
    }),
  );
  return sent;
}

/**
 * Each device publishes one reading every `intervalMs` until stopped; returns what was
 * acknowledged by the broker (the point where the delivery guarantee starts). At QoS 0, as the
 * ESP32 firmware publishes (PubSubClient), "acknowledged" is "written to the device's socket":
 * the devices stay connected throughout, so the broker gets them all.
 */
export class SteadyStream {
  private timers: NodeJS.Timeout[] = [];
  private readonly next: number[];
  private readonly acked: number[];
  private readonly inFlight = new Set<Promise<void>>();
  readonly sentAt = new Map<string, number>();

  constructor(
    private readonly devices: MqttClient[],
    private readonly intervalMs: number,
    private readonly firstBac = 1,
    private readonly qos: 0 | 1 = 1,
    /** Put before every topic, e.g. `ecole/ecole-1/` as a school's broker does (docs/schools.md). */
    private readonly topicPrefix = '',
  ) {
    this.next = devices.map(() => 0);
    this.acked = devices.map(() => 0);
  }

  start(): this {
    this.devices.forEach((device, d) => {
      const topic = `${this.topicPrefix}serre/1/bac/${this.firstBac + d}`;
      this.timers.push(
        setInterval(() => {
          const i = this.next[d]!;
          if (i >= MAX_READINGS_PER_BAC) return;
          this.next[d] = i + 1;
          this.sentAt.set(`${this.firstBac + d}/${i}`, Date.now());
          const p = publishAsync(device, topic, readingPayload(i), this.qos).then(() => {
            this.acked[d]!++;
          });
          this.inFlight.add(p);
          void p.finally(() => this.inFlight.delete(p));
        }, this.intervalMs),
      );
    });
    return this;
  }

  /** Stops publishing and waits until the broker acknowledged everything sent. */
  async stop(): Promise<Map<number, number>> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.inFlight]);
    const sent = new Map<number, number>();
    this.next.forEach((n, d) => sent.set(this.firstBac + d, n));
    return sent;
  }
}
