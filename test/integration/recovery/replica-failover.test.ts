/**
 * A failover to an asynchronous replica that lags (issue 21's measured case: 2 805 of 4 000
 * readings lost, and the bridge spinning): a real MariaDB primary with its binary log, a real
 * replica 4 s behind (MASTER_DELAY), the bridge reaching the primary through a proxy. The
 * primary is killed mid-stream, the replica promoted and the proxy moved to it: the replica
 * lacks the last seconds of commits, the bridge's position row with them. The bridge writes
 * them again from the replica's position: every reading once, controllers in their last state.
 */
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ControllerStream, controleurRow } from '../../helpers/controleur.js';
import type { TestDatabase } from '../../helpers/database.js';
import { PrivateMariadb } from '../../helpers/private-mariadb.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const LAG_SECONDS = 4;
let primary: PrivateMariadb;
let replica: PrivateMariadb;
let replicaPool: mysql.Pool;
let proxy: TcpProxy;
let stack: Stack;
const closing: Array<() => Promise<void>> = [];

beforeAll(async () => {
  primary = await PrivateMariadb.create({ args: ['--log-bin=mysql-bin', '--server-id=1', '--binlog-format=ROW'] });
  replica = await PrivateMariadb.create({ args: ['--server-id=2'] });
  replicaPool = mysql.createPool({ ...replica.server, connectionLimit: 2, dateStrings: true });
  await replicaPool.query(
    `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = 'root', MASTER_PASSWORD = '', ` +
      `MASTER_LOG_FILE = 'mysql-bin.000001', MASTER_LOG_POS = 4, MASTER_DELAY = ${LAG_SECONDS}`,
  );
  await replicaPool.query('START SLAVE');
  stack = await createStack({ dbServer: primary.server });
  // The schema, the serres and the bridge's account reach the replica LAG_SECONDS later.
  await waitFor(
    'the test database on the replica',
    async () => {
      const [rows] = await replicaPool.query<RowDataPacket[]>('SELECT count(*) AS n FROM mysql.user WHERE user = ?', [stack.db.bridgeUser]);
      return Number(rows[0]!.n) === 1;
    },
    60_000,
    500,
  );
  proxy = await TcpProxy.start(primary.port);
});

afterAll(async () => {
  for (const close of closing) await close();
  await stack?.close();
  await proxy?.close();
  await replicaPool?.end();
  await primary?.destroy();
  await replica?.destroy();
});

/** The replica seen as the test database, for the delivery checks. */
function onReplica(): TestDatabase {
  const pool = mysql.createPool({ ...replica.server, database: stack.db.name, connectionLimit: 1, dateStrings: true });
  closing.push(() => pool.end());
  return {
    ...stack.db,
    query: async <T extends RowDataPacket[]>(sql: string, params: unknown[] = []) => {
      const [rows] = await pool.query<T>(sql, params);
      return rows;
    },
  };
}

it('writes again what the promoted replica lacks: every reading once, controllers in their last state', async () => {
  const bridge = await stack.startBridge({ DB_PORT: String(proxy.port) });
  const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:0E:0${n}`)));
  const controllers = await Promise.all(['24:6F:28:00:0F:01', '24:6F:28:00:0F:02'].map(async (mac) => ({ mac, client: await stack.device(mac) })));
  const readings = new SteadyStream(devices, 50, 1, 0).start();
  const flapping = new ControllerStream(controllers, 300).start();
  await sleep(6_000);

  await primary.kill();
  await replicaPool.query('STOP SLAVE');
  await replicaPool.query('RESET SLAVE ALL'); // promoted: what it had not applied yet is gone
  proxy.switchTo(replica.port);
  await sleep(4_000);
  const last = flapping.stop();
  const sent = await readings.stop();
  await sleep(500);

  const db = onReplica();
  const delivery = await waitForDelivery(db, sent, 90_000);
  expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
  for (const [mac, row] of last) {
    await waitFor(`${mac} in its last state`, async () => JSON.stringify(await controleurRow(db, mac)) === JSON.stringify(row), 30_000);
  }
  await bridge.waitForLog(/the database lost entries it had committed/);
  const written = Number(/written again: (\d+) entries/.exec(bridge.logs())?.[1] ?? 0);
  expect(written).toBeGreaterThan(0);
  console.log('failover to a replica 4 s behind:', { ...delivery, writtenAgain: written });
});
