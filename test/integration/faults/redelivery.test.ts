/**
 * The broker redelivers what the bridge stored but never acknowledged (the PUBACKs were lost
 * with the connection): the redelivered messages (DUP flag, same packet ids) are recognised and
 * every reading is a row exactly once. Made deterministic by a proxy that swallows PUBACKs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue } from '../../helpers/metrics.js';
import { startPubackDropper, type PubackDropper } from '../../helpers/puback-dropper.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';

const DROPPED = 50;

let stack: Stack;
let dropper: PubackDropper;

beforeAll(async () => {
  stack = await createStack();
  dropper = await startPubackDropper(stack.broker, stack.pki);
});

afterAll(async () => {
  await dropper?.close();
  await stack?.close();
});

it('recognises messages redelivered after lost PUBACKs and stores them once', async () => {
  // Plain MQTT to the proxy, which speaks mTLS to the broker with the bridge's certificate.
  const bridge = await stack.startBridge({ MQTT_TLS: 'false', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(dropper.port), MQTT_RETRY_DELAY: '0.5' });
  const device = await stack.device('24:6F:28:00:09:01');
  const dropped = dropper.dropNext(DROPPED);
  const stream = new SteadyStream([device], 10).start(); // 100 msg/s
  await dropped;
  await sleep(3_000); // reconnect, redelivery, and more readings after it
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  const recognised = await metricValue(bridge, 'parc_bridge_duplicates_skipped_total');
  console.log('redelivery:', { ...delivery, pubacksDropped: DROPPED, redeliveriesRecognised: recognised });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  expect(recognised).toBeGreaterThanOrEqual(DROPPED);
});
