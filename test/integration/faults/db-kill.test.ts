/**
 * The database killed (SIGKILL of a private mariadbd) for 10 s and for 60 s under a steady
 * stream: 0 lost, 0 duplicated, and the receipt times have no gap longer than the devices'
 * own interval (mesure_a has a 1 s resolution; devices publish every 250 ms).
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateMariadb } from '../../helpers/private-mariadb.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';

const DEVICE_INTERVAL_MS = 250;

let mariadb: PrivateMariadb;

beforeAll(async () => {
  mariadb = await PrivateMariadb.create();
});

afterAll(async () => {
  await mariadb?.destroy();
});

/** Longest step between consecutive distinct mesure_a seconds of one bac. */
async function longestGapSeconds(stack: Stack, bacNumero: number): Promise<number> {
  const rows = await stack.db.query<RowDataPacket[]>(
    'SELECT DISTINCT UNIX_TIMESTAMP(m.mesure_a) AS t FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre ' +
      'WHERE s.numero = 1 AND b.numero = ? ORDER BY t',
    [bacNumero],
  );
  let gap = 0;
  for (let i = 1; i < rows.length; i++) gap = Math.max(gap, Number(rows[i]!.t) - Number(rows[i - 1]!.t));
  return gap;
}

describe.each([10, 60])('database killed for %i s', (outageSeconds) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await createStack({ dbServer: mariadb.server });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('writes every reading once, with its receipt time, when the database is back', async () => {
    const bridge = await stack.startBridge({ DB_RETRY_DELAY: '1' });
    const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:02:0${n}`)));
    const stream = new SteadyStream(devices, DEVICE_INTERVAL_MS).start();
    // A busy device too, so that the kill is likely to cut a COMMIT in flight.
    const busy = new SteadyStream([await stack.device('24:6F:28:00:02:04')], 5, 4).start();

    await sleep(3_000);
    await mariadb.kill();
    await sleep(outageSeconds * 1000);
    await mariadb.start();
    await sleep(3_000);
    const sent = new Map([...(await stream.stop()), ...(await busy.stop())]);

    const delivery = await waitForDelivery(stack.db, sent, 120_000);
    const gaps = await Promise.all([1, 2, 3].map((bac) => longestGapSeconds(stack, bac)));
    console.log(`database killed ${outageSeconds} s:`, { ...delivery, longestGapSeconds: Math.max(...gaps) });
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicated).toBe(0);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1);
    expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBeGreaterThanOrEqual(1);
    await bridge.stop();
  });
});
