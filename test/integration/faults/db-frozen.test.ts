/**
 * A database server that freezes (SIGSTOP: a stopped VM, a stalled disk): its connections stay
 * open and nothing answers. The bridge notices within DB_STATEMENT_TIMEOUT instead of waiting
 * on TCP, says so, keeps receiving, and writes everything once the server answers again.
 */
import type { RowDataPacket } from 'mysql2';
import { expect, it } from 'vitest';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const setup = stackOnPrivateMariadb();

it('notices a frozen server within the statement timeout and loses nothing', async () => {
  const bridge = await setup.stack.startBridge({ DB_STATEMENT_TIMEOUT: '2', DB_RETRY_DELAY: '0.5' });
  const devices = await Promise.all([1, 2].map((n) => setup.stack.device(`24:6F:28:00:0F:0${n}`)));
  const stream = new SteadyStream(devices, 50, 1, 0).start();
  await sleep(2_000);

  setup.mariadb.freeze();
  // Not ready within the timeout and a few retries, not TCP's minutes.
  await waitFor('not ready while the server is frozen', async () => (await bridge.get('/readyz')).status === 503, 20_000);
  await bridge.waitForLog(/database unavailable; entries stay in the journal/, 5_000);
  await sleep(10_000); // frozen for a while: the journal grows, the bridge keeps acknowledging
  expect((await bridge.get('/healthz')).status).toBe(200);
  setup.mariadb.thaw();

  await bridge.waitForLog(/database takes writes again/, 60_000);
  const sent = await stream.stop();
  const delivery = await waitForDelivery(setup.stack.db, sent, 60_000);
  console.log('database frozen:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  const dbErrors = await setup.stack.db.query<RowDataPacket[]>("SELECT message FROM error WHERE type_erreur = 'DB_ERROR'");
  expect(dbErrors).toHaveLength(1);
  expect(String(dbErrors[0]!.message)).toMatch(/DB_STATEMENT_TIMEOUT|PROTOCOL_SEQUENCE_TIMEOUT/);
  await bridge.waitReady(30_000);
  expect(await bridge.stop()).toBe(0); // the next test's bridges use the same client id
});

it('stops on SIGTERM while the server is frozen, and the next start writes what was kept', async () => {
  const first = await setup.stack.startBridge({ DB_STATEMENT_TIMEOUT: '2', SHUTDOWN_TIMEOUT: '5' });
  const device = await setup.stack.device('24:6F:28:00:0F:11');
  const stream = new SteadyStream([device], 50, 3, 0).start();
  await sleep(1_000);
  setup.mariadb.freeze();
  await sleep(3_000);
  // The exit must not wait on the frozen server (a statement, a connection, closing the pool).
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(first.logs()).toMatch(/stopped before the journal was fully written/);
  const sent = await stream.stop();
  setup.mariadb.thaw();

  await setup.stack.startBridge({ DATA_DIR: first.dataDir });
  const delivery = await waitForDelivery(setup.stack.db, sent, 60_000);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
});
