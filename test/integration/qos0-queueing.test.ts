/**
 * Devices publish at QoS 0 (PubSubClient); the bridge's persistent QoS 1 session must still get
 * what was published while it was away. The shipped mosquitto.conf does it with
 * upgrade_outgoing_qos; the same broker without that line is the control that shows the test
 * can fail.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOutcome, deviceClient, startBroker, type Broker } from '../helpers/broker.js';
import { makePki, type CertPair, type Pki } from '../helpers/pki.js';

const BRIDGE_TOPICS = ['serre/+/bac/+', 'controleur/+', 'controleur/+/disconnect'];
const SESSION: IClientOptions = { clientId: 'mqtt-bridge', clean: false };

interface Delivered {
  payload: string;
  qos: number;
}

let pki: Pki;
const clients: MqttClient[] = [];

async function connected(broker: Broker, pair: CertPair, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = deviceClient(broker, { ...pair, caFile: pki.caFile }, opts);
  clients.push(client);
  const outcome = await connectOutcome(client);
  if (!outcome.connected) throw new Error(`connection refused: ${outcome.error?.message}\n${broker.log()}`);
  return client;
}

/**
 * The bridge's session goes offline, a device publishes 3 readings at QoS 0 then 2 at QoS 1,
 * the session comes back: returns what it is delivered, with the QoS of each delivery.
 */
async function readingsAfterOfflineSession(broker: Broker): Promise<Delivered[]> {
  const first = await connected(broker, pki.bridge, SESSION);
  await first.subscribeAsync(BRIDGE_TOPICS, { qos: 1 });
  await first.endAsync();

  const device = await connected(broker, await pki.client('m5-serre-1'));
  for (let n = 1; n <= 3; n++) device.publish('serre/1/bac/1', `{"humiditeSol": ${n}}`, { qos: 0 });
  await device.publishAsync('serre/1/bac/1', '{"humiditeSol": 4}', { qos: 1 });
  // The broker handles one connection's packets in order: this PUBACK comes after all five.
  await device.publishAsync('serre/1/bac/1', '{"humiditeSol": 5}', { qos: 1 });
  await device.endAsync();

  const delivered: Delivered[] = [];
  const again = deviceClient(broker, { ...pki.bridge, caFile: pki.caFile }, SESSION);
  clients.push(again);
  again.on('message', (_topic, payload, packet) => delivered.push({ payload: payload.toString(), qos: packet.qos }));
  const sessionPresent = new Promise<boolean>((resolve) => again.once('connect', (connack) => resolve(connack.sessionPresent)));
  expect(await connectOutcome(again)).toEqual({ connected: true });
  expect(await sessionPresent).toBe(true);
  // Queued messages are written right after the CONNACK: once a fresh SUBACK is back, all are in.
  await again.subscribeAsync('barrier/qos0', { qos: 1 });
  await again.endAsync();
  return delivered;
}

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
});

describe('QoS 0 readings for the offline bridge session', () => {
  let shipped: Broker;
  let standard: Broker;
  beforeAll(async () => {
    shipped = await startBroker(pki);
    // The stock behaviour: delivered at the lower of publish and subscription QoS.
    standard = await startBroker(pki, { extraConfig: 'upgrade_outgoing_qos false' });
  });
  afterAll(async () => {
    await Promise.all([shipped?.stop(), standard?.stop()]);
  });

  it('the shipped config queues all 5 (3 published at QoS 0, 2 at QoS 1) and delivers them at QoS 1', async () => {
    expect(await readingsAfterOfflineSession(shipped)).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ payload: `{"humiditeSol": ${n}}`, qos: 1 })),
    );
  });

  it('control: without upgrade_outgoing_qos only the 2 QoS 1 readings are kept', async () => {
    expect(await readingsAfterOfflineSession(standard)).toEqual([
      { payload: '{"humiditeSol": 4}', qos: 1 },
      { payload: '{"humiditeSol": 5}', qos: 1 },
    ]);
  });
});
