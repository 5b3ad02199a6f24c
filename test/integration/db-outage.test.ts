/**
 * The database stopped and restarted under a steady stream (a private mariadbd): nothing is
 * lost, nothing is doubled, and readings received during the outage keep their receipt time.
 */
import type { RowDataPacket } from 'mysql2';
import { describe, expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { stackOnPrivateMariadb } from '../helpers/outage-stack.js';
import { zonedToEpoch } from '../helpers/time.js';
import { sleep } from '../helpers/wait.js';

const setup = stackOnPrivateMariadb();

describe('database outage', () => {
  it('keeps receiving, then writes everything in order with the receipt times', async () => {
    const bridge = await setup.stack.startBridge({ DB_RETRY_DELAY: '2', LOG_LEVEL: 'DEBUG' });
    const devices = await Promise.all([1, 2, 3].map((n) => setup.stack.device(`24:6F:28:00:00:0${n}`)));
    const stream = new SteadyStream(devices, 100).start();

    await sleep(3_000);
    const stopRequested = Date.now();
    await setup.mariadb.stop();
    const outageStart = Date.now();
    await sleep(8_000);
    await setup.mariadb.start();
    const outageEnd = Date.now();
    await sleep(3_000);
    const sent = await stream.stop();

    const delivery = await waitForDelivery(setup.stack.db, sent, 60_000);
    console.log('db outage:', { ...delivery, outageSeconds: (outageEnd - outageStart) / 1000 });
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicated).toBe(0);

    // Receipt times, not write times: readings sent during the outage are dated when sent.
    const rows = await setup.stack.db.query<RowDataPacket[]>(
      'SELECT b.numero AS bac, ROUND(m.value * 100) AS i, m.mesure_a FROM mesure m JOIN bac b ON b.id_bac = m.bac',
    );
    let duringOutage = 0;
    for (const row of rows) {
      const sentAt = stream.sentAt.get(`${row.bac}/${row.i}`)!;
      const stamped = zonedToEpoch(String(row.mesure_a));
      expect(Math.abs(stamped - sentAt)).toBeLessThan(2_000);
      if (sentAt > outageStart && sentAt < outageEnd) duringOutage++;
    }
    expect(duringOutage).toBeGreaterThan(100);

    const dbErrors = await setup.stack.db.query<RowDataPacket[]>("SELECT message FROM error WHERE type_erreur = 'DB_ERROR'");
    expect(dbErrors).toHaveLength(1);
    expect(dbErrors[0]!.message).toMatch(/Base de données indisponible/);
    // Retried every DB_RETRY_DELAY (2 s) while the server was going, away and coming back, not
    // at the rate messages arrive (100 a second here).
    const attempts = bridge.logLines().filter((l) => /^database (unavailable|still unavailable)/.test(String(l.msg))).length;
    expect(attempts).toBeGreaterThan(0);
    expect(attempts).toBeLessThanOrEqual(Math.ceil((outageEnd - stopRequested) / 2_000) + 2);
    expect((await bridge.get('/readyz')).status).toBe(200);
  });
});
