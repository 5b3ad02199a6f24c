/**
 * A region end to end (issue 21): two schools' Mosquitto brokers bridged to a central one from
 * the shipped files, the central parc-bridge in school mode (SCHOOLS=ecole-1,ecole-2) writing
 * each school into its own database. Devices publish at QoS 0 (PubSubClient) and QoS 1 on the
 * same topics in both schools; the link of one school is cut for 20 s. Every reading lands in
 * its school's database, none in the other's, none lost; a controller's Last Will ends offline.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSchoolDatabases, type SchoolDatabases } from '../helpers/schools.js';
import { centralBridge } from '../helpers/site-bridge-sink.js';
import { schoolDevice, startRegion, type CentralBroker, type SchoolBroker } from '../helpers/site-brokers.js';
import { SchoolReadings, waitForSchoolDelivery, type CentralSink } from '../helpers/site-delivery.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SCHOOLS = ['ecole-1', 'ecole-2'];
const CUT_MS = 20_000;
/** deploy/site-broker/mosquitto.conf's max_inflight_messages: what QoS 1 on the link may send twice at a cut. */
const MAX_INFLIGHT = 100;
const FAST_RETRY = 'restart_timeout 2 5';

let central: CentralBroker;
let databases: SchoolDatabases;
let sink: CentralSink;
let schools: SchoolBroker[] = [];
const devices: MqttClient[] = [];

beforeAll(async () => {
  ({ central, schools } = await startRegion(SCHOOLS, { bridgeExtra: FAST_RETRY }));
  databases = await createSchoolDatabases(SCHOOLS);
  sink = await centralBridge(central, databases);
});

afterAll(async () => {
  for (const d of devices) d.end(true);
  await sink?.close();
  await Promise.all(schools.map((s) => s.stop()));
  await central?.stop();
  await databases?.drop();
});

async function device(school: SchoolBroker, mac: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = await schoolDevice(school, mac, opts);
  devices.push(client);
  return client;
}

it(`writes every reading of QoS 0 and QoS 1 devices into its own school's database across a ${CUT_MS / 1000} s cut`, async () => {
  // A controller of the cut school announces itself online (retained, as the firmware does), then dies.
  const mac = '24:6F:28:00:0C:01';
  const controller = await device(schools[0]!, mac, { will: { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1, retain: false } });
  await controller.publishAsync(`controleur/${mac}`, JSON.stringify({ ip: '192.168.1.60', status: true }), { qos: 0, retain: true });
  const streams = await Promise.all(
    schools.map(async (school, k) => {
      const qos0 = await device(school, `24:6F:28:00:0${k + 1}:01`);
      const qos1 = await device(school, `24:6F:28:00:0${k + 1}:02`);
      return new SchoolReadings(k, [{ client: qos0, bac: 1, qos: 0 }, { client: qos1, bac: 2, qos: 1 }], 100).start();
    }),
  );
  await sleep(3_000);
  await waitFor('the controller online in its school', async () => (await sink.controllerOnline('ecole-1', mac)) === true, 30_000);
  controller.stream.destroy(); // the Will fires at the school broker
  await schools[0]!.link.cut();
  await sleep(CUT_MS);
  await schools[0]!.link.restore();
  await sleep(3_000);

  const sent = await Promise.all(streams.map((s) => s.stop()));
  for (const [k, school] of SCHOOLS.entries()) {
    const delivery = await waitForSchoolDelivery(sink, school, sent[k]!);
    console.log(`${school} into its database${k === 0 ? ` (link cut ${CUT_MS / 1000} s)` : ''}: ${JSON.stringify(delivery)}`);
    expect(delivery, school).toMatchObject({ lost: 0, unexpected: 0 });
    expect(delivery.expected, school).toBeGreaterThan(200);
    expect(delivery.duplicated, school).toBeLessThanOrEqual(MAX_INFLIGHT);
  }
  // The retained "online" came back with the link; the Will after it is the last word.
  await waitFor('the controller offline after its Will', async () => (await sink.controllerOnline('ecole-1', mac)) === false, 30_000);
  expect(await sink.controllerOnline('ecole-2', mac)).toBeUndefined();
});
