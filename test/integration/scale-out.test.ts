/**
 * Three bridges in one shared-subscription group behind the real Mosquitto, under a steady
 * stream; one is killed (SIGKILL) for 30 s and restarted. Every reading is a row exactly once,
 * the controller status follows the broker's order, and one bad controller message is one row.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newDataDir, type BridgeProcess } from '../helpers/bridge-process.js';
import { metricValue } from '../helpers/metrics.js';
import { publishAsync, SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { controleurRow } from '../helpers/controleur.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

const controller = (mac: string) => controleurRow(stack.db, mac);

it('spreads the readings over three instances, survives losing one, writes everything once', async () => {
  const shared = {
    MQTT_SHARED_GROUP: 'parc',
    MQTT_CLIENT_ID: `parc-scale-${randomBytes(3).toString('hex')}-{slot}`,
    DATA_DIR: newDataDir(),
  };
  const bridges: BridgeProcess[] = [];
  for (let i = 0; i < 3; i++) bridges.push(await stack.startBridge(shared));
  const slots = bridges.map((b) => /"clientId":"[^"]*-(\d+)"/.exec(b.logs())?.[1]);
  expect(new Set(slots).size).toBe(3);

  const devices = await Promise.all([1, 2, 3, 4].map((n) => stack.device(`24:6F:28:00:07:0${n}`)));
  const mac = '24:6F:28:00:07:AA';
  const controllerDevice = await stack.device(mac);
  const stream = new SteadyStream(devices, 20, 1, 0).start(); // 4 × 50 msg/s at QoS 0, like the firmware
  // Every instance receives controller messages: a bad one is still one error row.
  await publishAsync(controllerDevice, `controleur/${mac}`, JSON.stringify({ ip: 'pas une ip', status: true }));

  await sleep(3_000);
  const killed = bridges[1]!;
  await killed.stop('SIGKILL');
  // While it is down, the controller changes state several times; the last state must win.
  for (let i = 1; i <= 5; i++) {
    await publishAsync(controllerDevice, `controleur/${mac}`, JSON.stringify({ ip: `10.7.0.${i}`, status: true }));
    await publishAsync(controllerDevice, `controleur/${mac}/disconnect`, '');
  }
  await sleep(27_000);
  bridges[1] = await stack.startBridge(shared);
  await publishAsync(controllerDevice, `controleur/${mac}`, JSON.stringify({ ip: '10.7.0.99', status: true }));
  await sleep(5_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 120_000);
  const spread = await Promise.all(bridges.map((b) => metricValue(b, 'parc_bridge_messages_received_total', 'kind="bac"')));
  console.log('scale-out:', { ...delivery, receivedPerInstanceSinceStart: spread, note: 'instance 2 counts since its restart' });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  // Every live instance took a share of the readings.
  for (const n of spread) expect(n).toBeGreaterThan(0);

  await waitFor('controller state of the last event', async () => (await controller(mac))?.ip === '10.7.0.99');
  // The restarted instance has replayed what the broker kept for it: every journal is empty.
  await waitFor('every journal written', async () => {
    const backlogs = await Promise.all(bridges.map((b) => metricValue(b, 'parc_bridge_journal_backlog_entries')));
    return backlogs.every((n) => n === 0);
  });
  expect(await controller(mac)).toEqual({ ip: '10.7.0.99', status: 1 });
  expect(await stack.db.count('error', "type_erreur = 'INVALID_VALUE' AND message LIKE ?", [`%${mac}%`])).toBe(1);
  expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(0);
});

it('switching a bridge to a shared group drops its old subscription: no reading twice', async () => {
  const env = { MQTT_CLIENT_ID: `parc-switch-${randomBytes(3).toString('hex')}`, DATA_DIR: newDataDir() };
  const alone = await stack.startBridge(env);
  expect(await alone.stop()).toBe(0);
  const shared = await stack.startBridge({ ...env, MQTT_SHARED_GROUP: 'parc' });
  await shared.waitForLog(/dropped the previous subscription to readings/);
  const device = await stack.device('24:6F:28:00:07:BB');
  const before = await stack.db.count('mesure');
  for (let i = 0; i < 20; i++) await publishAsync(device, 'serre/3/bac/4', JSON.stringify({ humiditeSol: i }));
  await waitFor('20 readings', async () => (await stack.db.count('mesure')) >= before + 20);
  await sleep(1_000);
  expect(await stack.db.count('mesure')).toBe(before + 20);
});

it('three instances writing the same controller messages at once: no deadlock, no DB_ERROR, the last state wins', async () => {
  const shared = {
    MQTT_SHARED_GROUP: 'parc',
    MQTT_CLIENT_ID: `parc-contend-${randomBytes(3).toString('hex')}-{slot}`,
    DATA_DIR: newDataDir(),
    BATCH_SIZE: '7', // batches that start and end at different messages in each instance
  };
  const bridges: BridgeProcess[] = [];
  for (let i = 0; i < 3; i++) bridges.push(await stack.startBridge(shared));
  const macs = Array.from({ length: 12 }, (_, i) => `24:6F:28:00:08:${String(i).padStart(2, '0')}`);
  const devices = await Promise.all(macs.map((mac) => stack.device(mac)));
  const rounds = 30;
  for (let r = 1; r <= rounds; r++) {
    await Promise.all(
      devices.map(async (device, d) => {
        const mac = macs[d]!;
        await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: `10.8.${d}.${r}`, status: true }), 0);
        if (r % 10 === 0) await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: `pas une ip ${r}`, status: true }), 0);
        if (r < rounds) await publishAsync(device, `controleur/${mac}/disconnect`, '', 0);
      }),
    );
  }

  for (const [d, mac] of macs.entries()) {
    await waitFor(`${mac} at its last state`, async () => (await controller(mac))?.ip === `10.8.${d}.${rounds}`, 60_000);
  }
  await waitFor('every journal written', async () => {
    const backlogs = await Promise.all(bridges.map((b) => metricValue(b, 'parc_bridge_journal_backlog_entries')));
    return backlogs.every((n) => n === 0);
  });
  for (const [d, mac] of macs.entries()) expect(await controller(mac), mac).toEqual({ ip: `10.8.${d}.${rounds}`, status: 1 });
  expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(0);
  // Each bad announcement is one row, written by whichever instance came first.
  expect(await stack.db.count('error', "type_erreur = 'INVALID_VALUE' AND message LIKE '%24:6F:28:00:08:%'")).toBe(macs.length * (rounds / 10));
  for (const b of bridges) expect(b.logs()).not.toMatch(/database unavailable|refuses every write/);
});
