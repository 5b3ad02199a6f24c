/**
 * The journal's disk budget reached during a long database outage: the bridge stops
 * acknowledging (the broker keeps the messages), says so in logs, metrics and /readyz, and
 * resumes without loss once the database is back.
 */
import { expect, it } from 'vitest';
import { metricValue } from '../../helpers/metrics.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
import { sleep } from '../../helpers/wait.js';

const setup = stackOnPrivateMariadb();

it('pauses at the budget and resumes without loss', async () => {
  const bridge = await setup.stack.startBridge({ JOURNAL_MAX_BYTES: String(64 * 1024), DB_RETRY_DELAY: '0.5' });
  const devices = await Promise.all([1, 2, 3, 4].map((n) => setup.stack.device(`24:6F:28:00:06:0${n}`)));
  const stream = new SteadyStream(devices, 10, 1, 0).start(); // 400 msg/s at QoS 0 (the firmware's): ~100 bytes each

  await sleep(1_000);
  await setup.mariadb.kill();
  await bridge.waitForLog(/pausing: no longer acknowledging/, 30_000);
  expect(await metricValue(bridge, 'parc_bridge_journal_full')).toBe(1);
  const readyz = await bridge.get('/readyz');
  expect(readyz.status).toBe(503);
  expect(JSON.parse(readyz.body)).toMatchObject({ journalUnderBudget: false });
  const bytesWhilePaused = await metricValue(bridge, 'parc_bridge_journal_backlog_bytes');
  expect(bytesWhilePaused).toBeLessThanOrEqual(64 * 1024 + 1024);

  await sleep(3_000); // the broker queues meanwhile
  await setup.mariadb.start();
  await bridge.waitForLog(/resuming: the journal has room again/, 60_000);
  await sleep(2_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(setup.stack.db, sent, 120_000);
  console.log('journal budget:', { ...delivery, bytesWhilePaused });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  await bridge.waitReady(60_000);
  expect(await metricValue(bridge, 'parc_bridge_journal_full')).toBe(0);
});
