/**
 * Schools bridged to a central broker, from the shipped files (deploy/site-broker,
 * deploy/central-broker, the central ACL made by `parc-bridge acl --central`), mutual TLS on
 * every hop: the devices of two schools publish at QoS 0 (as PubSubClient does) and at QoS 1 on
 * the same topics, the link of one school is cut for 20 s, and every reading of both schools
 * reaches the central side under its own school's prefix, none lost.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schoolDevice, startRegion, type CentralBroker, type SchoolBroker } from '../helpers/site-brokers.js';
import { centralSubscriber } from '../helpers/site-central-subscriber.js';
import { SchoolReadings, waitForSchoolDelivery, type CentralSink } from '../helpers/site-delivery.js';
import { sleep } from '../helpers/wait.js';

const SCHOOLS = ['ecole-1', 'ecole-2'];
const CUT_MS = 20_000;
/** deploy/site-broker/mosquitto.conf's max_inflight_messages: what QoS 1 may send twice at a cut. */
const MAX_INFLIGHT = 100;
/** The shipped backoff (5 s, up to 60 s) only delays the catch-up after the cut; shortened here. */
const FAST_RETRY = 'restart_timeout 2 5';

let central: CentralBroker;
let sink: CentralSink;
let schools: SchoolBroker[] = [];
const devices: MqttClient[] = [];

beforeAll(async () => {
  ({ central, schools } = await startRegion(SCHOOLS, { bridgeExtra: FAST_RETRY }));
  sink = await centralSubscriber(central, SCHOOLS);
});

afterAll(async () => {
  for (const d of devices) d.end(true);
  await sink?.close();
  await Promise.all(schools.map((s) => s.stop()));
  await central?.stop();
});

async function device(school: SchoolBroker, mac: string): Promise<MqttClient> {
  const client = await schoolDevice(school, mac);
  devices.push(client);
  return client;
}

it(`loses no reading of QoS 0 and QoS 1 devices across a ${CUT_MS / 1000} s cut of one school's link, and keeps schools apart`, async () => {
  const streams = await Promise.all(
    schools.map(async (school, k) => {
      const qos0 = await device(school, `24:6F:28:00:0${k + 1}:01`);
      const qos1 = await device(school, `24:6F:28:00:0${k + 1}:02`);
      return new SchoolReadings(k, [{ client: qos0, bac: 1, qos: 0 }, { client: qos1, bac: 2, qos: 1 }], 100).start();
    }),
  );
  await sleep(3_000);

  const [cutSchool, otherSchool] = SCHOOLS as [string, string];
  await schools[0]!.link.cut();
  await sleep(1_000);
  const beforeCut = { cut: (await sink.readings(cutSchool)).size, other: (await sink.readings(otherSchool)).size };
  await sleep(CUT_MS - 1_000);
  // The cut is real: nothing of that school crossed it, while the other school kept arriving.
  expect((await sink.readings(cutSchool)).size).toBe(beforeCut.cut);
  expect((await sink.readings(otherSchool)).size).toBeGreaterThan(beforeCut.other);
  await schools[0]!.link.restore();
  await sleep(3_000);

  const sent = await Promise.all(streams.map((s) => s.stop()));
  for (const [k, school] of SCHOOLS.entries()) {
    const delivery = await waitForSchoolDelivery(sink, school, sent[k]!);
    console.log(`${school}${k === 0 ? ` (link cut ${CUT_MS / 1000} s)` : ''}: ${JSON.stringify(delivery)}`);
    expect(delivery, school).toMatchObject({ lost: 0, unexpected: 0 });
    expect(delivery.expected, school).toBeGreaterThan(200);
    // QoS 1 on the link is at least once: only what was in flight at the cut may come twice.
    expect(delivery.duplicated, school).toBeLessThanOrEqual(MAX_INFLIGHT);
  }
  expect(central.log()).toMatch(/New bridge connected .* as site-bridge-ecole-1 [\s\S]*New bridge connected .* as site-bridge-ecole-1 /);
});
