/**
 * Retained messages across a school's bridge. A Mosquitto bridge queues every retained message
 * of its `topic` lines again at each connection attempt, and the central broker delivers those
 * copies as new messages. Devices (PubSubClient) do publish retained readings and statuses, and
 * cannot be changed. The shipped school broker loads parc-strip-retain and keeps no retained
 * message: the same scenario run on a school without it shows what it prevents.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceClient, waitForLog } from '../helpers/broker.js';
import { makePki } from '../helpers/pki.js';
import { startCentralBroker, startSchoolBroker, type CentralBroker, type SchoolBroker } from '../helpers/site-brokers.js';
import { centralSubscriber } from '../helpers/site-central-subscriber.js';
import { readingKey, type CentralSink } from '../helpers/site-delivery.js';
import { sleep, waitFor } from '../helpers/wait.js';

const WITH_PLUGIN = 'ecole-1';
const WITHOUT_PLUGIN = 'ecole-2';
const MAC = '24:6F:28:00:0A:01';
/** Retries within a second, so that each cut below spans connection attempts (shipped: 5 s up to 60 s). */
const FAST_RETRY = 'restart_timeout 1 2';

let central: CentralBroker;
let sink: CentralSink;
const schools = new Map<string, SchoolBroker>();
const clients: MqttClient[] = [];

beforeAll(async () => {
  const [centralPki, pkiWith, pkiWithout] = await Promise.all([makePki(), makePki(), makePki()]);
  central = await startCentralBroker(centralPki, [WITH_PLUGIN, WITHOUT_PLUGIN]);
  sink = await centralSubscriber(central, [WITH_PLUGIN, WITHOUT_PLUGIN]);
  schools.set(WITH_PLUGIN, await startSchoolBroker(WITH_PLUGIN, pkiWith, central, { bridgeExtra: FAST_RETRY }));
  schools.set(WITHOUT_PLUGIN, await startSchoolBroker(WITHOUT_PLUGIN, pkiWithout, central, { plugin: false, bridgeExtra: FAST_RETRY }));
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await sink?.close();
  await Promise.all([...schools.values()].map((s) => s.stop()));
  await central?.stop();
});

/** How many times the school's bridge has connected to the central broker. */
function bridgeConnections(school: string): number {
  return central.log().split(`New bridge connected`).filter((part, i) => i > 0 && new RegExp(`^ from \\S+ as site-bridge-${school} `).test(part)).length;
}

/** Cuts every school's link until its bridge has tried again at least once, then lets it reconnect. */
async function cutAndRestore(): Promise<void> {
  const before = [...schools.keys()].map(bridgeConnections);
  for (const s of schools.values()) await s.link.cut();
  for (const s of schools.values()) {
    const attempts = () => s.log().split('Connecting bridge (step 1)').length;
    const now = attempts();
    await waitFor(`${s.school}'s bridge trying again during the cut`, () => attempts() > now, 20_000);
  }
  for (const s of schools.values()) await s.link.restore();
  await waitFor('both bridges connected again', () => [...schools.keys()].every((school, i) => bridgeConnections(school) > before[i]!), 30_000);
}

async function device(school: SchoolBroker): Promise<MqttClient> {
  // A controller's connection as the firmware makes it: an empty Last Will, not retained.
  const will = { topic: `controleur/${MAC}/disconnect`, payload: Buffer.alloc(0), qos: 1 as const, retain: false };
  const client = deviceClient(school, { ...(await school.pki.client(MAC)), caFile: school.pki.caFile }, { will, keepalive: 5 });
  clients.push(client);
  await waitFor(`the device of ${school.school} connected`, () => client.connected, 15_000);
  return client;
}

describe('a retained reading and a retained "online" through a school bridge', () => {
  const reading = readingKey(1, 4150);

  it('are stored once, and the controller ends on its Last Will, after the link is cut twice', async () => {
    for (const school of schools.values()) {
      const d = await device(school);
      // PubSubClient's publish(topic, payload, retained=true): QoS 0 with the retain flag.
      await d.publishAsync(`controleur/${MAC}`, JSON.stringify({ ip: '192.168.42.85', status: true }), { qos: 0, retain: true });
      await d.publishAsync('serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 41.5 }), { qos: 0, retain: true });
    }
    for (const school of schools.keys()) {
      await waitFor(`${school}: reading and status at the central side`, async () => (await sink.readings(school)).has(reading) && (await sink.controllerOnline(school, MAC)) === true);
    }

    await cutAndRestore();
    await cutAndRestore();
    // The Wi-Fi drops: each school broker publishes the controller's Last Will.
    for (const c of clients) c.stream.destroy();
    for (const school of schools.keys()) {
      await waitFor(`${school}: the Last Will at the central side`, async () => (await sink.controllerOnline(school, MAC)) === false);
    }
    await cutAndRestore();

    // Without the plugin, the reconnection sends the retained "online" after the Will ...
    await waitFor('the retained status replayed after the Will (school without the plugin)', async () => (await sink.controllerOnline(WITHOUT_PLUGIN, MAC)) === true);
    const copies = (await sink.readings(WITHOUT_PLUGIN)).get(reading) ?? 0;
    console.log(`without parc-strip-retain, over 3 link cuts: the retained reading arrived ${copies} times, the controller ends online`);
    expect(copies).toBeGreaterThanOrEqual(3);
    // ... which the shipped school broker never does. Both bridges went through the same cuts
    // and reconnections, and the other school's replay has arrived, so this one's would have.
    await sleep(1_000);
    expect(await sink.readings(WITH_PLUGIN)).toEqual(new Map([[reading, 1]]));
    expect(await sink.controllerOnline(WITH_PLUGIN, MAC)).toBe(false);
  });
});

describe('retain_available false instead of the plugin', () => {
  it('disconnects a device that publishes retained (MQTT 3.1.1): its readings are lost', async () => {
    const school = await startSchoolBroker('ecole-3', await makePki(), central, { plugin: false, insteadOfPlugin: 'retain_available false' });
    try {
      const d = deviceClient(school, { ...(await school.pki.client('24:6F:28:00:0A:03')), caFile: school.pki.caFile }, { protocolVersion: 4 });
      clients.push(d);
      await waitFor('the device connected', () => d.connected, 15_000);
      await d.publishAsync('serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 12 }), { qos: 0 });
      await d.publishAsync('serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 13 }), { qos: 0, retain: true });
      await waitFor('the broker closed the device connection', () => !d.connected, 10_000);
      await waitForLog(school, /Bad socket read\/write on client|disconnected due to QoS too high or retain not supported/);
    } finally {
      await school.stop();
    }
  });
});
