/**
 * The bridge killed with SIGKILL mid-stream and restarted 2 s later: 0 lost, 0 duplicated. The
 * devices publish at QoS 0, like the ESP32 firmware: the broker queues for the bridge at QoS 1.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';
import { metricValue } from '../../helpers/metrics.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('loses and duplicates nothing when the bridge is killed', async () => {
  const first = await stack.startBridge();
  const devices = await Promise.all([1, 2, 3, 4].map((n) => stack.device(`24:6F:28:00:01:0${n}`)));
  const stream = new SteadyStream(devices, 20, 1, 0).start(); // 4 × 50 msg/s at QoS 0, like the firmware

  await sleep(3_000);
  await first.stop('SIGKILL');
  await sleep(2_000);
  const second = await stack.startBridge({ DATA_DIR: first.dataDir });
  await sleep(3_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  const redeliveries = await metricValue(second, 'parc_bridge_duplicates_skipped_total');
  console.log('bridge SIGKILL:', { ...delivery, redeliveriesRecognised: redeliveries });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
});
