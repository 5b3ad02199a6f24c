/** 20 000 readings published at once through the shipped mosquitto.conf all land, once. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { burst, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ database: { serres: 1, bacsPerSerre: 10 } });
});

afterAll(async () => {
  await stack?.close();
});

it('a burst of 20 000 messages lands whole', async () => {
  await stack.startBridge();
  const devices = await Promise.all(Array.from({ length: 10 }, (_, n) => stack.device(`24:6F:28:00:04:${String(n).padStart(2, '0')}`)));
  const started = Date.now();
  const sent = await burst(devices, 2_000);
  const published = Date.now();
  const delivery = await waitForDelivery(stack.db, sent, 180_000);
  console.log('burst:', { ...delivery, publishSeconds: (published - started) / 1000, totalSeconds: (Date.now() - started) / 1000 });
  expect(delivery).toMatchObject({ expected: 20_000, rows: 20_000, lost: 0, duplicated: 0 });
});
