/** SIGTERM mid-stream: exit 0 within the deadline, and after a restart nothing is lost. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('stops cleanly on SIGTERM and resumes without loss', async () => {
  const first = await stack.startBridge({ SHUTDOWN_TIMEOUT: '10' });
  const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:05:0${n}`)));
  const stream = new SteadyStream(devices, 20).start();

  await sleep(3_000);
  const stopping = Date.now();
  const code = await first.stop('SIGTERM');
  const stopSeconds = (Date.now() - stopping) / 1000;
  expect(code).toBe(0);
  expect(stopSeconds).toBeLessThan(10 + 5); // SHUTDOWN_TIMEOUT plus process teardown
  expect(first.logs()).toMatch(/journal fully written/);

  await sleep(2_000);
  await stack.startBridge({ DATA_DIR: first.dataDir });
  await sleep(3_000);
  const sent = await stream.stop();
  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  console.log('SIGTERM:', { ...delivery, stopSeconds });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  // A clean stop is not a lost connection.
  expect(await stack.db.count('error', "type_erreur = 'MQTT_DISCONNECT'")).toBe(0);
});
