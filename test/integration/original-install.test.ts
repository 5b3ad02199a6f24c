/**
 * Drop-in for an existing SIGACS installation: certificates made by hand with the original
 * README's openssl commands (bridge CN=mqtt-bridge, a device CN=m5-serre-1 that is not its MAC),
 * in the original layout, with the shipped mosquitto.conf in its default form and the bridge on
 * its default client id. Then the hardened ACL (acl.mac-cn), which refuses a controller topic
 * that is not the device's CN.
 */
import type { RowDataPacket } from 'mysql2';
import type { IClientOptions, MqttClient } from 'mqtt';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeProcess } from '../helpers/bridge-process.js';
import { connectOutcome, deviceClient, startBroker, type Broker } from '../helpers/broker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeOriginalPki, type OriginalPki } from '../helpers/original-pki.js';
import { waitFor } from '../helpers/wait.js';

const DEVICE_CN = 'm5-serre-1';
const MAC = '24:6F:28:AB:CD:01';

let pki: OriginalPki;
let db: TestDatabase;
const clients: MqttClient[] = [];
const bridges: BridgeProcess[] = [];

/** The bridge with the original files where the original README puts them; MQTT_CLIENT_ID left to its default. */
async function bridgeOn(broker: Broker): Promise<BridgeProcess> {
  const bridge = await startBridge({
    ...db.env(),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(broker.port),
    MQTT_CA_FILE: path.join(pki.serverCerts, 'ca.crt'),
    MQTT_CERT_FILE: path.join(pki.clientCerts, 'client.crt'),
    MQTT_KEY_FILE: path.join(pki.clientCerts, 'client.key'),
  });
  bridges.push(bridge);
  return bridge;
}

/** A controller as the firmware runs it: PubSubClient, MQTT 3.1.1, Last Will on controleur/<MAC>/disconnect. */
async function controller(broker: Broker, cn: string, mac: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const pair = await pki.client(cn);
  const client = deviceClient(broker, { ...pair, caFile: pki.caFile }, {
    will: { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1, retain: false },
    ...opts,
  });
  clients.push(client);
  const outcome = await connectOutcome(client);
  if (!outcome.connected) throw new Error(`${cn} refused: ${outcome.error?.message}\n${broker.log()}`);
  return client;
}

async function controllerStatus(mac: string): Promise<number | undefined> {
  const rows = await db.query<RowDataPacket[]>('SELECT status FROM controleur WHERE id_controleur = ?', [mac]);
  return rows[0] === undefined ? undefined : Number(rows[0].status);
}

async function readings(serre: number, bac: number): Promise<Array<{ type: string; value: number }>> {
  const rows = await db.query<RowDataPacket[]>(
    `SELECT c.type, m.value FROM mesure m
       JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre JOIN capteur c ON c.id_capteur = m.capteur
      WHERE s.numero = ? AND b.numero = ? ORDER BY c.type`,
    [serre, bac],
  );
  return rows.map((r) => ({ type: String(r.type), value: Math.round(Number(r.value) * 10) / 10 }));
}

beforeAll(async () => {
  pki = await makeOriginalPki();
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(bridges.map((b) => b.stop('SIGKILL')));
  await db?.drop();
});

describe('an original installation on the shipped broker config', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker(pki);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it(`stores the QoS 0 reading of ${DEVICE_CN}, and its controller online then offline by its Last Will`, async () => {
    const bridge = await bridgeOn(broker);
    expect(bridge.logs()).toContain('"clientId":"mqtt-bridge"');
    const device = await controller(broker, DEVICE_CN, MAC);
    device.publish('serre/1/bac/2', '{"humiditeAmbiante": 65.3, "temperatureAmbiante": 22.1, "humiditeSol": 45.0}', { qos: 0 });
    device.publish(`controleur/${MAC}`, '{"ip": "192.168.42.85", "status": true}', { qos: 0 });

    await waitFor('the controller online', async () => (await controllerStatus(MAC)) === 1);
    expect(await readings(1, 2)).toEqual([
      { type: 'humiditeAmbiante', value: 65.3 },
      { type: 'humiditeSol', value: 45 },
      { type: 'temperatureAmbiante', value: 22.1 },
    ]);

    device.stream.destroy(); // a power cut: the broker publishes the Last Will
    await waitFor('the controller offline', async () => (await controllerStatus(MAC)) === 0);
    expect(await db.count('error')).toBe(0);
    await bridge.stop();
  });
});

describe('the same installation with the hardened ACL (acl.mac-cn)', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker(pki, { acl: 'acl.mac-cn' });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('refuses a controller topic that is not the CN, and still stores that device\'s readings', async () => {
    const foreignMac = '24:6F:28:AB:CD:02';
    const ownMac = '24:6F:28:AB:CD:03';
    await bridgeOn(broker);
    const named = await controller(broker, DEVICE_CN, foreignMac);
    // QoS 1 so that its PUBACK says the broker has handled (and dropped) the status.
    await named.publishAsync(`controleur/${foreignMac}`, '{"ip": "192.168.42.86", "status": true}', { qos: 1 });
    named.publish('serre/2/bac/1', '{"humiditeSol": 30}', { qos: 0 });
    // A controller whose CN is its MAC, made by the same commands: its own status lands.
    const own = await controller(broker, ownMac, ownMac);
    own.publish(`controleur/${ownMac}`, '{"ip": "192.168.42.87", "status": true}', { qos: 0 });

    await waitFor('the CN=MAC controller online', async () => (await controllerStatus(ownMac)) === 1);
    await waitFor('the reading of serre 2 bac 1', async () => (await readings(2, 1)).length === 1);
    expect(await readings(2, 1)).toEqual([{ type: 'humiditeSol', value: 30 }]);
    expect(await controllerStatus(foreignMac)).toBeUndefined();
  });
});
