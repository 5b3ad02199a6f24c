/**
 * The broker restarted while the database is down: the MQTT_DISCONNECT row is written once the
 * database is back, in journal order (after the outage's DB_ERROR row) and dated when the
 * connection was lost, not when it was written; no reading is lost or doubled.
 */
import type { RowDataPacket } from 'mysql2';
import { expect, it } from 'vitest';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { zonedToEpoch } from '../../helpers/time.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const setup = stackOnPrivateMariadb();

it('writes MQTT_DISCONNECT in order and with the time of the loss once the database is back', async () => {
  const { stack, mariadb } = setup;
  await stack.startBridge({ MQTT_RETRY_DELAY: '0.5', DB_RETRY_DELAY: '1' });
  const devices = await Promise.all([1, 2].map((n) => stack.device(`24:6F:28:00:07:0${n}`)));
  const stream = new SteadyStream(devices, 50).start();

  await sleep(2_000);
  await mariadb.stop();
  await sleep(2_000);
  const brokerStopping = Date.now();
  await stack.broker.stop();
  const brokerStopped = Date.now();
  await sleep(2_000);
  await stack.broker.start();
  await sleep(3_000);
  await mariadb.start();
  await sleep(2_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  const rows = await waitFor('DB_ERROR and MQTT_DISCONNECT rows', async () => {
    const found = await stack.db.query<RowDataPacket[]>(
      "SELECT id_error, type_erreur, DATE_FORMAT(erreur_a, '%Y-%m-%d %H:%i:%s') AS at FROM error WHERE type_erreur IN ('DB_ERROR', 'MQTT_DISCONNECT') ORDER BY id_error",
    );
    return found.some((r) => r.type_erreur === 'MQTT_DISCONNECT') ? found : undefined;
  });
  console.log('broker restart during a database outage:', { ...delivery, errors: rows.map((r) => `${r.type_erreur} ${r.at}`) });
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);

  expect(rows.map((r) => r.type_erreur)).toEqual(['DB_ERROR', 'MQTT_DISCONNECT']);
  // Dated to the second (truncated) when the bridge saw the connection go, which may be a moment
  // after the broker process exited; the reconnection (2 s later) or the write (5 s later)
  // would both fall past these bounds.
  const disconnectAt = zonedToEpoch(String(rows[1]!.at));
  expect(disconnectAt).toBeGreaterThanOrEqual(Math.floor(brokerStopping / 1000) * 1000);
  expect(disconnectAt).toBeLessThanOrEqual(brokerStopped + 1_000);
});
