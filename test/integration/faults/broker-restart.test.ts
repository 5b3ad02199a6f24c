/** The broker restarted mid-stream: the bridge's persistent session brings back what it queued. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep, waitFor } from '../../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('loses and duplicates nothing across a broker restart, and records MQTT_DISCONNECT', async () => {
  const bridge = await stack.startBridge({ MQTT_RETRY_DELAY: '0.5' });
  const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:03:0${n}`)));
  const stream = new SteadyStream(devices, 50).start();

  await sleep(3_000);
  await stack.broker.stop();
  await sleep(3_000);
  await stack.broker.start();
  await sleep(4_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  console.log('broker restart:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  await waitFor('MQTT_DISCONNECT row', async () => (await stack.db.count('error', "type_erreur = 'MQTT_DISCONNECT'")) >= 1);
  await bridge.waitReady();
});
