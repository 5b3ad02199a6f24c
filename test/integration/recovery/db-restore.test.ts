/**
 * The school's database restored from last night's dump (issue 19): `mariadb-dump
 * --single-transaction` taken while controllers stream, readings go on, then the database is
 * dropped and restored with `mariadb < dump`. The bridge writes again what the dump lacks, from
 * the position row the dump holds: every reading exactly once, controllers in their last state,
 * every bad message's error row once. Past the retention window, what the journal no longer
 * holds is named in an ERROR and on the status page, and nothing is written twice.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerStream, controleurRow } from '../../helpers/controleur.js';
import { dumpDatabase, restoreDatabase } from '../../helpers/mariadb-dump.js';
import { metricValue } from '../../helpers/metrics.js';
import { checkDelivery, SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep, waitFor } from '../../helpers/wait.js';

let stack: Stack;

beforeEach(async () => {
  stack = await createStack();
});

afterEach(async () => {
  await stack?.close();
});

const CONTROLLERS = ['24:6F:28:00:0A:01', '24:6F:28:00:0A:02'];

interface Traffic {
  readings: SteadyStream;
  controllers: ControllerStream;
  badDevice: MqttClient;
  badSent: number;
  badTimer: NodeJS.Timeout;
}

/** 3 devices × 20 readings/s, 2 controllers flapping every 300 ms, one bad reading every 500 ms, all at QoS 0. */
async function startTraffic(): Promise<Traffic> {
  const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:0B:0${n}`)));
  const controllers = await Promise.all(CONTROLLERS.map(async (mac) => ({ mac, client: await stack.device(mac) })));
  const badDevice = await stack.device('24:6F:28:00:0C:01');
  const traffic: Traffic = {
    readings: new SteadyStream(devices, 50, 1, 0).start(),
    controllers: new ControllerStream(controllers, 300).start(),
    badDevice,
    badSent: 0,
    badTimer: setInterval(() => {
      traffic.badSent++;
      badDevice.publish('serre/1/bac/99', JSON.stringify({ humiditeAmbiante: traffic.badSent }), { qos: 0 });
    }, 500),
  };
  return traffic;
}

async function stopTraffic(t: Traffic) {
  clearInterval(t.badTimer);
  const lastControllers = t.controllers.stop();
  const sent = await t.readings.stop();
  await sleep(500); // the last controller and bad messages leave the devices' sockets
  return { sent, lastControllers, badSent: t.badSent };
}

async function expectEverythingOnce(result: Awaited<ReturnType<typeof stopTraffic>>) {
  const delivery = await waitForDelivery(stack.db, result.sent, 90_000);
  expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
  for (const [mac, last] of result.lastControllers) {
    await waitFor(`${mac} in its last state`, async () => JSON.stringify(await controleurRow(stack.db, mac)) === JSON.stringify(last), 30_000);
  }
  // One BAC_NOT_FOUND row per bad message: below the rate limit, the refill writes each once too.
  await waitFor('every error row', async () => (await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND'")) >= result.badSent, 30_000);
  await sleep(1_000);
  expect(await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND'")).toBe(result.badSent);
  return delivery;
}

/** `bac/i` of every reading sent and not in `mesure`. */
async function missingReadings(sent: Map<number, number>): Promise<string[]> {
  const missing: string[] = [];
  for (const [bac, count] of sent) {
    const rows = await stack.db.query<import('mysql2').RowDataPacket[]>(
      'SELECT DISTINCT ROUND(m.value * 100) AS i FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre WHERE s.numero = 1 AND b.numero = ? AND m.capteur = 1',
      [bac],
    );
    const seen = new Set(rows.map((r) => Number(r.i)));
    for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(`${bac}/${i}`);
  }
  return missing;
}

describe('a database restored from a dump', () => {
  it('is written again from the dump position while the bridge runs through the restore', async () => {
    const bridge = await stack.startBridge({ ERROR_RATE_LIMIT: '1000' });
    const traffic = await startTraffic();
    await sleep(3_000);
    const dump = await dumpDatabase(stack.db);
    await sleep(4_000);
    await restoreDatabase(stack.db, dump);
    await sleep(3_000);
    const result = await stopTraffic(traffic);

    const delivery = await expectEverythingOnce(result);
    await bridge.waitForLog(/the database lost entries it had committed/);
    await bridge.waitForLog(/entries the database had lost are written again: \d+ entries/);
    const written = Number(/written again: (\d+) entries/.exec(bridge.logs())![1]);
    expect(written).toBeGreaterThan(0);
    expect(await metricValue(bridge, 'parc_bridge_entries_written_again_total')).toBe(written);
    const status = JSON.parse((await bridge.get('/api/status')).body) as { recovery: { kind: string; toWriteAgain: number; writtenAgain: number; lost?: unknown } };
    expect(status.recovery).toMatchObject({ kind: 'refill', toWriteAgain: written, writtenAgain: written });
    expect(status.recovery.lost).toBeUndefined();
    expect(bridge.logs()).not.toMatch(/cannot be written again/);
    console.log('restore while running:', { ...delivery, writtenAgain: written });
  });

  it('is written again when the bridge restarts during the restore', async () => {
    const first = await stack.startBridge({ ERROR_RATE_LIMIT: '1000' });
    const traffic = await startTraffic();
    await sleep(3_000);
    const dump = await dumpDatabase(stack.db);
    await sleep(4_000);
    await first.stop('SIGKILL');
    const restoring = restoreDatabase(stack.db, dump);
    const second = await stack.startBridge({ ERROR_RATE_LIMIT: '1000', DATA_DIR: first.dataDir }, { waitReady: false });
    await restoring;
    await sleep(3_000);
    const result = await stopTraffic(traffic);

    const delivery = await expectEverythingOnce(result);
    await second.waitForLog(/the database lost entries it had committed/);
    console.log('restart during the restore:', delivery);
  });

  it('past the retention window, names what it cannot write again and doubles nothing', async () => {
    const bridge = await stack.startBridge({ JOURNAL_RETAIN: '3s' });
    const traffic = await startTraffic();
    await sleep(2_000);
    const dump = await dumpDatabase(stack.db);
    await sleep(8_000); // committed, then past the 3 s window
    await restoreDatabase(stack.db, dump);
    await sleep(3_000);
    const result = await stopTraffic(traffic);

    await bridge.waitForLog(/cannot be written again: the journal no longer retains them/, 60_000);
    const line = bridge.logLines().find((l) => /cannot be written again/.test(String(l.msg)))!;
    expect(line.level).toBe('error');
    expect(String(line.msg)).toMatch(/received between \d{4}-\d\d-\d\d \d\d:\d\d:\d\d and \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    // Some readings are missing for good: wait until nothing more arrives.
    let previous = -1;
    const delivery = await waitFor(
      'no more rows coming',
      async () => {
        const d = await checkDelivery(stack.db, result.sent);
        const settled = d.rows === previous;
        previous = d.rows;
        return settled ? d : undefined;
      },
      90_000,
      3_000,
    );
    expect(delivery.duplicated).toBe(0);
    expect(delivery.lost).toBeGreaterThan(0);
    // The readings missing are those received in the range named: none from before or after it.
    const range = { from: Number(line.receivedFromMs), to: Number(line.receivedToMs) };
    expect(range.to).toBeGreaterThan(range.from);
    const missing = await missingReadings(result.sent);
    expect(missing.length).toBe(delivery.lost);
    for (const key of missing) {
      const sentAt = traffic.readings.sentAt.get(key)!;
      expect(sentAt).toBeGreaterThanOrEqual(range.from - 2_000);
      expect(sentAt).toBeLessThanOrEqual(range.to + 1_000);
    }
    const status = JSON.parse((await bridge.get('/api/status')).body) as { recovery: { lost: { from: string; to: string } | null } };
    expect(status.recovery.lost).toMatchObject({ from: line.receivedFrom, to: line.receivedTo });
    // New readings go on being written: the bridge does not spin on the position.
    expect(bridge.logLines().filter((l) => /reading it again/.test(String(l.msg))).length).toBeLessThan(10);
    console.log('past the retention window:', delivery);
  });
});
