/**
 * Starting in any order, as `docker compose up` may: a bridge started before the database or
 * the broker keeps retrying, says it is not ready (/readyz and the `healthcheck` command the
 * container uses), and works once they are up. A second bridge on the same DATA_DIR refuses to
 * start instead of writing every reading twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthcheck } from '../helpers/bridge-process.js';
import { SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { stackOnPrivateMariadb } from '../helpers/outage-stack.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('database not up yet', () => {
  const setup = stackOnPrivateMariadb();

  it('receives meanwhile, is not ready, and writes everything once the database starts', async () => {
    await setup.mariadb.stop();
    const bridge = await setup.stack.startBridge({ DB_RETRY_DELAY: '0.5' }, { waitReady: false });
    await waitFor('/healthz', async () => (await bridge.get('/healthz').catch(() => undefined))?.status === 200);
    const devices = await Promise.all([1, 2].map((n) => setup.stack.device(`24:6F:28:00:08:0${n}`)));
    const stream = new SteadyStream(devices, 50).start();

    await sleep(2_000);
    expect((await bridge.get('/readyz')).status).toBe(503);
    expect(healthcheck(bridge.httpPort)).toBe(1);

    await setup.mariadb.start();
    await bridge.waitReady(60_000);
    expect(healthcheck(bridge.httpPort)).toBe(0);
    const sent = await stream.stop();
    const delivery = await waitForDelivery(setup.stack.db, sent, 60_000);
    console.log('database started after the bridge:', delivery);
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicated).toBe(0);
    expect(await setup.stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(1);
  });
});

describe('broker not up yet', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await createStack();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('retries the first connection and subscribes once the broker starts', async () => {
    await stack.broker.stop();
    const bridge = await stack.startBridge({ MQTT_RETRY_DELAY: '0.5' }, { waitReady: false });
    await waitFor('/healthz', async () => (await bridge.get('/healthz').catch(() => undefined))?.status === 200);
    await sleep(2_000);
    expect((await bridge.get('/readyz')).status).toBe(503);

    await stack.broker.start();
    await bridge.waitReady(60_000);
    const device = await stack.device('24:6F:28:00:08:10');
    const stream = new SteadyStream([device], 50).start();
    await sleep(1_000);
    const delivery = await waitForDelivery(stack.db, await stream.stop(), 30_000);
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicated).toBe(0);
  });

  it('refuses a second bridge on the same DATA_DIR', async () => {
    const first = await stack.startBridge({ MQTT_CLIENT_ID: 'parc-bridge-{slot}' });
    // Same client id and folder: the journal is locked.
    const twin = await stack.startBridge({ DATA_DIR: first.dataDir, MQTT_CLIENT_ID: 'parc-bridge-{slot}' }, { waitReady: false });
    expect(await twin.exited).toBe(1);
    expect(twin.logs()).toMatch(/MQTT_SHARED_GROUP/);
    const plain = await stack.startBridge({ MQTT_CLIENT_ID: 'parc-bridge-plain' });
    const plainTwin = await stack.startBridge({ DATA_DIR: plain.dataDir, MQTT_CLIENT_ID: 'parc-bridge-plain' }, { waitReady: false });
    expect(await plainTwin.exited).toBe(1);
    expect(plainTwin.logs()).toMatch(/locked|another bridge/i);
    expect((await first.get('/readyz')).status).toBe(200);
  });
});
