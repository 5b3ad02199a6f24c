/**
 * SIGTERM while the database is down: the bridge cannot flush, so it stops at SHUTDOWN_TIMEOUT
 * with exit 0, says what it kept, and the next start writes it all (0 lost, 0 duplicated).
 */
import { expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
import { sleep } from '../../helpers/wait.js';

const setup = stackOnPrivateMariadb();

it('stops at the deadline with what it could not write kept on disk', async () => {
  const first = await setup.stack.startBridge({ SHUTDOWN_TIMEOUT: '3', DB_RETRY_DELAY: '0.5' });
  const devices = await Promise.all([1, 2].map((n) => setup.stack.device(`24:6F:28:00:0A:0${n}`)));
  const stream = new SteadyStream(devices, 20).start();
  await sleep(2_000);
  await setup.mariadb.kill();
  await sleep(2_000);

  const stopping = Date.now();
  expect(await first.stop('SIGTERM')).toBe(0);
  const stopSeconds = (Date.now() - stopping) / 1000;
  expect(first.logs()).toMatch(/stopped before the journal was fully written/);
  expect(stopSeconds).toBeLessThan(3 + 10); // SHUTDOWN_TIMEOUT, the stop grace and teardown

  await setup.mariadb.start();
  await setup.stack.startBridge({ DATA_DIR: first.dataDir });
  await sleep(2_000);
  const delivery = await waitForDelivery(setup.stack.db, await stream.stop(), 60_000);
  console.log('SIGTERM with the database down:', { ...delivery, stopSeconds });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
});
