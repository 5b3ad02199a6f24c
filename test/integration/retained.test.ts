/**
 * Retained messages: the broker sends its retained copy again at every SUBSCRIBE, flagged
 * retain=1. A bridge restart or a broker reconnection must neither store a reading twice nor
 * set an offline controller back online from its old retained status.
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newDataDir } from '../helpers/bridge-process.js';
import { metricValue } from '../helpers/metrics.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

async function readingsOfBac(serre: number, bac: number): Promise<number> {
  const rows = await stack.db.query<RowDataPacket[]>(
    'SELECT count(*) AS n FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre WHERE s.numero = ? AND b.numero = ?',
    [serre, bac],
  );
  return Number(rows[0]!.n);
}

async function status(mac: string): Promise<number | undefined> {
  const rows = await stack.db.query<RowDataPacket[]>('SELECT status FROM controleur WHERE id_controleur = ?', [mac]);
  return rows[0] ? Number(rows[0].status) : undefined;
}

it('a retained reading is one row, across a bridge restart and a broker restart', async () => {
  const env = { DATA_DIR: newDataDir() };
  const first = await stack.startBridge(env);
  const device = await stack.device('m5-serre-2-retained');
  // PubSubClient's publish(topic, payload, retained=true): QoS 0 with the retain flag.
  await device.publishAsync('serre/2/bac/3', JSON.stringify({ humiditeSol: 41.5 }), { qos: 0, retain: true });
  await waitFor('the live delivery stored', async () => (await readingsOfBac(2, 3)) === 1);

  expect(await first.stop()).toBe(0);
  const second = await stack.startBridge(env);
  await waitFor('the retained copy replayed at SUBSCRIBE', async () => (await metricValue(second, 'parc_bridge_retained_replays_skipped_total', 'kind="bac"')) >= 1);

  await stack.broker.stop();
  await stack.broker.start();
  await waitFor('replayed again after the broker came back', async () => (await metricValue(second, 'parc_bridge_retained_replays_skipped_total', 'kind="bac"')) >= 2, 60_000);
  await sleep(1_000);
  expect(await readingsOfBac(2, 3)).toBe(1);

  // A new live publication (retain flag clear on delivery) is stored as usual.
  const again = await stack.device('m5-serre-2-retained-2');
  await again.publishAsync('serre/2/bac/3', JSON.stringify({ humiditeSol: 42 }), { qos: 0, retain: true });
  await waitFor('the new reading stored', async () => (await readingsOfBac(2, 3)) === 2);
  await second.stop();
});

it('a retained controller status never sets an offline controller back online', async () => {
  const mac = '24:6F:28:00:0A:01';
  const env = { DATA_DIR: newDataDir() };
  const bridge = await stack.startBridge(env);
  const will = { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1 as const, retain: false };
  const device = await stack.device(mac, { will, keepalive: 2 });
  await device.publishAsync(`controleur/${mac}`, JSON.stringify({ ip: '192.168.42.90', status: true }), { qos: 0, retain: true });
  await waitFor('online', async () => (await status(mac)) === 1);

  device.options.reconnectPeriod = 0;
  device.stream.destroy(); // the Wi-Fi drops: the broker publishes the Last Will
  await waitFor('offline (Last Will)', async () => (await status(mac)) === 0, 20_000);

  expect(await bridge.stop()).toBe(0);
  const restarted = await stack.startBridge(env);
  await waitFor('the retained status replayed', async () => (await metricValue(restarted, 'parc_bridge_retained_replays_skipped_total', 'kind="controller"')) >= 1);
  await sleep(1_500);
  expect(await status(mac)).toBe(0);
  await restarted.stop();
});
