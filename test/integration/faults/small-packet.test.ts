/**
 * A server with a small max_allowed_packet (MySQL 5.7's is 4 MiB; some are set far lower) and
 * a backlog of large error payloads: every statement is sized to fit, everything is written.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateMariadb } from '../../helpers/private-mariadb.js';
import { publishAsync, readingPayload } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';
import mysql from 'mysql2/promise';

let mariadb: PrivateMariadb;
let stack: Stack;

beforeAll(async () => {
  mariadb = await PrivateMariadb.create();
  stack = await createStack({ dbServer: mariadb.server });
  const admin = await mysql.createConnection(mariadb.server);
  await admin.query('SET GLOBAL max_allowed_packet = 16384'); // new connections, the bridge's among them
  await admin.end();
});

afterAll(async () => {
  await stack?.close();
  await mariadb?.destroy();
});

it('writes a backlog of large error rows and readings in statements that fit 16 KiB', async () => {
  const device = await stack.device('m5-serre-packet');
  // The bridge runs once to make its persistent session, then the backlog builds up at the
  // broker while it is stopped (QoS 0 readings too: the shipped config upgrades them).
  const bridge = await stack.startBridge({ ERROR_RATE_LIMIT: '10000', BATCH_SIZE: '2000' });
  expect(await bridge.stop()).toBe(0);
  const garbage = (i: number) => `pas du JSON ${i} ` + 'é'.repeat(6000); // 12 KB: valeur cut to 1 000 characters
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    await publishAsync(device, `serre/1/bac/${1 + (i % 4)}`, garbage(i), 0);
    bad++;
    await publishAsync(device, 'serre/2/bac/1', readingPayload(i), 0);
  }
  const restarted = await stack.startBridge({ DATA_DIR: bridge.dataDir, ERROR_RATE_LIMIT: '10000', BATCH_SIZE: '2000' });
  await waitFor('every error row', async () => (await stack.db.count('error', "type_erreur = 'INVALID_PAYLOAD'")) === bad, 60_000);
  await waitFor('every reading', async () => (await stack.db.count('mesure')) === 300, 60_000);
  expect(await stack.db.count('error', "type_erreur IN ('DB_ERROR', 'DB_INSERT_ERROR')")).toBe(0);
  expect(restarted.logs()).not.toMatch(/ER_NET_PACKET_TOO_LARGE|database unavailable/);
});
