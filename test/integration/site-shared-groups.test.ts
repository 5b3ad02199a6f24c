/**
 * Scaling out the central side: bridges in a `$share` group, or plain persistent subscriptions
 * each on its own schools, across a restart of the central broker while two schools' readings
 * flow through their bridges. Mosquitto 2.0 restores a persistent session without its $share
 * subscription (measured on 2.0.11, Debian 12's, and on 2.0.21); `doctor` says so when
 * MQTT_SHARED_GROUP is set. The figures printed here are in deploy/site-broker/README.md.
 */
import { spawnSync } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mosquittoVersion, sharedSubscriptionsSurviveRestart } from '../../src/ops/doctor/broker-version.js';
import { CLI } from '../helpers/bridge-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { schoolDevice, startRegion, type CentralBroker, type SchoolBroker } from '../helpers/site-brokers.js';
import { bridgeClient } from '../helpers/site-central-subscriber.js';
import { compareDelivery, readingKey, SchoolReadings } from '../helpers/site-delivery.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SCHOOLS = ['ecole-1', 'ecole-2'];
/** The bridge's reconnection delay (MQTT_RETRY_DELAY's default) and its subscribe at every connection. */
const BRIDGE_RETRY_MS = 5_000;

let central: CentralBroker;
let db: TestDatabase;
let schools: SchoolBroker[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  ({ central, schools } = await startRegion(SCHOOLS, { bridgeExtra: 'restart_timeout 2 5' }));
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(schools.map((s) => s.stop()));
  await central?.stop();
  await db?.drop();
});

/** A central subscriber with a persistent session; `resubscribe`: SUBSCRIBE at every connection, as the bridge does. */
function subscriber(clientId: string, filter: string, resubscribe: boolean): { received: Map<string, number>; subscribed: () => boolean } {
  const received = new Map<string, number>();
  let subscribed = false;
  const client = bridgeClient(central, { clientId, reconnectPeriod: BRIDGE_RETRY_MS });
  clients.push(client);
  let first = true;
  client.on('connect', () => {
    if (!first && !resubscribe) return;
    first = false;
    void client.subscribeAsync(filter, { qos: 1 }).then(() => (subscribed = true));
  });
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) return;
    const school = topic.split('/')[1]!;
    const bac = Number(topic.split('/')[5]);
    const key = `${school}/${readingKey(bac, Math.round((JSON.parse(payload.toString()) as { humiditeAmbiante: number }).humiditeAmbiante * 100))}`;
    received.set(key, (received.get(key) ?? 0) + 1);
  });
  return { received, subscribed: () => subscribed };
}

/** What several subscribers received together. */
function union(...parts: Array<{ received: Map<string, number> }>): Map<string, number> {
  const all = new Map<string, number>();
  for (const p of parts) for (const [k, n] of p.received) all.set(k, (all.get(k) ?? 0) + n);
  return all;
}

function doctorVersionLine(sharedGroup: string): string {
  const r = spawnSync(process.execPath, [CLI, 'doctor'], {
    env: {
      PATH: process.env.PATH ?? '',
      ...db.env(),
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(central.port),
      MQTT_CA_FILE: central.pki.caFile,
      MQTT_CERT_FILE: central.pki.bridge.certFile,
      MQTT_KEY_FILE: central.pki.bridge.keyFile,
      MQTT_SHARED_GROUP: sharedGroup,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.stdout.split('\n').find((l) => l.includes('Broker version')) ?? `no "Broker version" line in:\n${r.stdout}${r.stderr}`;
}

it('across a central broker restart: plain persistent subscriptions split by school lose nothing; $share ones lose what arrives before they subscribe again', async () => {
  const version = mosquittoVersion(/mosquitto version \S+/.exec(central.log())?.[0] ?? '');
  expect(version).toBeDefined();
  const dropsShares = sharedSubscriptionsSurviveRestart(version) === 'no';

  const readings = 'ecole/+/serre/+/bac/+';
  const shared = [subscriber('share-1', `$share/central/${readings}`, true), subscriber('share-2', `$share/central/${readings}`, true)];
  const partitioned = SCHOOLS.map((s) => subscriber(`part-${s}`, `ecole/${s}/serre/+/bac/+`, true));
  // Without a SUBSCRIBE after the restart, only what the broker restored of the session counts.
  const sharedAsRestored = subscriber('share-probe', `$share/probe/${readings}`, false);
  const plainAsRestored = subscriber('plain-probe', readings, false);
  await waitFor('every subscriber subscribed', () => [...shared, ...partitioned, sharedAsRestored, plainAsRestored].every((s) => s.subscribed()), 20_000);

  const streams = await Promise.all(
    schools.map(async (school, k) => {
      const d = await schoolDevice(school, `24:6F:28:00:0${k + 1}:01`);
      clients.push(d);
      return new SchoolReadings(k, [{ client: d, bac: 1, qos: 0 }], 50).start();
    }),
  );
  await sleep(3_000);
  await central.stop();
  const beforeRestart = union(sharedAsRestored).size;
  await sleep(2_000);
  await central.start();
  await sleep(BRIDGE_RETRY_MS * 2);
  const sent = new Set<string>();
  (await Promise.all(streams.map((s) => s.stop()))).forEach((keys, k) => keys.forEach((key) => sent.add(`${SCHOOLS[k]}/${key}`)));

  let settled: string | undefined;
  await waitFor(
    'the partitioned subscribers have every reading and nothing more is coming',
    () => {
      const now = JSON.stringify(compareDelivery(sent, union(...partitioned)));
      const done = settled === now && compareDelivery(sent, union(...partitioned)).lost === 0;
      settled = now;
      return done;
    },
    90_000,
    1_000,
  );
  const results = {
    shared: compareDelivery(sent, union(...shared)),
    partitioned: compareDelivery(sent, union(...partitioned)),
    sharedAsRestored: { ...compareDelivery(sent, union(sharedAsRestored)), afterRestart: union(sharedAsRestored).size - beforeRestart },
    plainAsRestored: compareDelivery(sent, union(plainAsRestored)),
  };
  console.log(`Mosquitto ${version!.join('.')}, central broker restarted (down 2 s) while 2 schools published ${sent.size} readings:`);
  for (const [name, r] of Object.entries(results)) console.log(`  ${name}: ${JSON.stringify(r)}`);

  expect(results.partitioned).toMatchObject({ lost: 0, unexpected: 0 });
  expect(results.plainAsRestored).toMatchObject({ lost: 0, unexpected: 0 });
  // What doctor says of this broker is what happened: the session came back without its $share.
  if (dropsShares) expect(results.sharedAsRestored.afterRestart).toBe(0);
  expect(doctorVersionLine('parc')).toMatch(/^⚠ Broker version: mosquitto version \S+ with MQTT_SHARED_GROUP=parc: /);
  expect(doctorVersionLine('')).toMatch(/^✔ Broker version: mosquitto version \S+$/);
});
