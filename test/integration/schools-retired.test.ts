/**
 * A school removed from SCHOOLS while the broker still queues thousands of its readings for the
 * bridge's session, and the bridge restarted twice before the queue is delivered (review of the
 * school dimension: 17 932 of 20 000 were acknowledged and dropped). As long as the school's
 * folder is in DATA_DIR, everything the broker sends for it is written to its database.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newDataDir, startBridge, type BridgeProcess } from '../helpers/bridge-process.js';
import { createSchoolDatabases, startCentralBroker, type CentralBroker, type SchoolDatabases } from '../helpers/schools.js';
import { waitFor } from '../helpers/wait.js';

let central: CentralBroker;
let dbs: SchoolDatabases;
let publisher: MqttClient;
let bridge: BridgeProcess | undefined;
const dataDir = newDataDir();
const QUEUED = 5_000;

beforeAll(async () => {
  central = await startCentralBroker();
  dbs = await createSchoolDatabases(['ecole-a', 'ecole-b'], { bacsPerSerre: 2 });
  publisher = await central.publisher('school-broker-ecole-b');
});

afterAll(async () => {
  await bridge?.stop('SIGKILL');
  publisher?.end(true);
  await central?.close();
  await dbs?.drop();
});

const start = (schools: string[], extra: Record<string, string> = {}) => startBridge({ ...central.env(), ...dbs.env(schools), DATA_DIR: dataDir, ...extra });
const written = () => dbs.of('ecole-b').count('mesure');

it('writes every reading the broker queued for a removed school, across restarts', async () => {
  bridge = await start(['ecole-a', 'ecole-b']);
  await bridge.stop('SIGTERM');
  for (let i = 0; i < QUEUED; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, k) => publisher.publishAsync('ecole/ecole-b/serre/1/bac/1', JSON.stringify({ humiditeSol: (i + k) % 100 }), { qos: 1 })));
  }
  // ecole-b removed; a small journal budget keeps most of the queue at the broker.
  bridge = await start(['ecole-a'], { JOURNAL_MAX_BYTES: '65536' });
  await waitFor('some of ecole-b written', async () => (await written()) > 100, 60_000);
  await bridge.stop('SIGTERM'); // its journal written to the end: nothing waiting in it
  bridge = await start(['ecole-a']);
  await waitFor('every queued reading of the removed school written', async () => (await written()) >= QUEUED, 120_000);
  expect(bridge.logs()).not.toMatch(/acknowledged and dropped/);
  await bridge.stop('SIGTERM');
  expect(await written()).toBe(QUEUED);
});
