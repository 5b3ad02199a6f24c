/**
 * Readings and every error type a device can cause, through a real mTLS Mosquitto (the shipped
 * config) into a real MariaDB, with the bridge running as its least-privilege account.
 */
import type { MqttClient } from 'mqtt';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeProcess } from '../helpers/bridge-process.js';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { zonedDateTime } from '../helpers/time.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
let bridge: BridgeProcess;
let device: MqttClient;

interface ErrorRowDb extends RowDataPacket {
  type_erreur: string;
  message: string;
  valeur: string | null;
  erreur_a: string;
}

async function errorsOfType(type: string): Promise<ErrorRowDb[]> {
  return stack.db.query<ErrorRowDb[]>('SELECT type_erreur, message, valeur, erreur_a FROM error WHERE type_erreur = ? ORDER BY id_error', [type]);
}

beforeAll(async () => {
  stack = await createStack();
  // A CHECK the web app could have: the database refuses 42.5 for good (DB_INSERT_ERROR).
  await stack.db.query('ALTER TABLE mesure ADD CONSTRAINT no_magic_value CHECK (value <> 42.5)');
  bridge = await stack.startBridge({ LOG_LEVEL: 'DEBUG', SUMMARY_INTERVAL: '1' });
  device = await stack.device('24:6F:28:AA:00:01');
});

afterAll(async () => {
  await stack?.close();
});

describe('readings', () => {
  it('stores every key of a payload as one mesure row, stamped with the receipt time in TZ', async () => {
    const before = Date.now();
    await publishAsync(device, 'serre/2/bac/3', JSON.stringify({ humiditeAmbiante: 65.3, temperatureAmbiante: 22.1, humiditeSol: 45 }));
    const rows = await waitFor('3 mesure rows', async () => {
      const r = await stack.db.query<RowDataPacket[]>(
        'SELECT c.type, m.value, m.mesure_a FROM mesure m JOIN capteur c ON c.id_capteur = m.capteur ' +
          'JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 2 AND b.numero = 3 ORDER BY c.type',
      );
      return r.length === 3 ? r : undefined;
    });
    const after = Date.now();
    expect(rows.map((r) => [r.type, Number(Number(r.value).toFixed(1))])).toEqual([
      ['humiditeAmbiante', 65.3],
      ['humiditeSol', 45],
      ['temperatureAmbiante', 22.1],
    ]);
    for (const r of rows) {
      expect(r.mesure_a >= zonedDateTime(before - 1000)).toBe(true);
      expect(r.mesure_a <= zonedDateTime(after + 1000)).toBe(true);
    }
  });

  it('clamps a value out of range and records VALUE_OUT_OF_RANGE too', async () => {
    await publishAsync(device, 'serre/1/bac/4', JSON.stringify({ temperatureAmbiante: 95.5 }));
    const [error] = await waitFor('VALUE_OUT_OF_RANGE', async () => {
      const r = await errorsOfType('VALUE_OUT_OF_RANGE');
      return r.length > 0 ? r : undefined;
    });
    expect(error!.message).toContain('serre/1/bac/4');
    expect(error!.message).toContain('temperatureAmbiante');
    expect(error!.valeur).toBe('95.5');
    const stored = await stack.db.query<RowDataPacket[]>(
      'SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 1 AND b.numero = 4 AND m.capteur = 3',
    );
    expect(stored.map((r) => Number(r.value))).toEqual([80]);
  });
});

describe('reference data from the web app', () => {
  it('picks up a bac added while running, without a restart', async () => {
    await publishAsync(device, 'serre/1/bac/9', JSON.stringify({ humiditeSol: 30 }));
    await waitFor('BAC_NOT_FOUND for bac 9', async () => (await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND' AND message LIKE '%serre/1/bac/9%'")) === 1);
    const [serre] = await stack.db.query<RowDataPacket[]>('SELECT id_serre FROM serre WHERE numero = 1');
    await stack.db.query('INSERT INTO bac (serre, numero) VALUES (?, 9)', [serre!.id_serre]);
    const added = Date.now();
    // The device keeps publishing, as a real one does; within 60 s its readings are stored.
    const stored = await waitFor(
      'a reading of the new bac',
      async () => {
        await publishAsync(device, 'serre/1/bac/9', JSON.stringify({ humiditeSol: 31 }));
        const rows = await stack.db.query<RowDataPacket[]>(
          'SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 1 AND b.numero = 9',
        );
        return rows.length > 0;
      },
      60_000,
      1_000,
    );
    expect(stored).toBe(true);
    console.log(`new bac picked up after ${Date.now() - added} ms`);
  });

  it('picks up a capteur added while running, without a restart', async () => {
    const [bac] = await stack.db.query<RowDataPacket[]>('SELECT b.id_bac FROM bac b JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 1 AND b.numero = 3');
    await stack.db.query("INSERT INTO capteur (type, valeurMinCapteur, valeurMaxCapteur) VALUES ('co2', 0, 5000)");
    const stored = await waitFor(
      'a co2 reading',
      async () => {
        await publishAsync(device, 'serre/1/bac/3', JSON.stringify({ co2: 412 }));
        const rows = await stack.db.query<RowDataPacket[]>(
          "SELECT m.value FROM mesure m JOIN capteur c ON c.id_capteur = m.capteur WHERE c.type = 'co2' AND m.bac = ?",
          [bac!.id_bac],
        );
        return rows[0];
      },
      60_000,
      1_000,
    );
    expect(Number(stored.value)).toBe(412);
  });
});

describe('each error a device can cause lands as a row, and the bridge keeps going', () => {
  it('INVALID_ENCODING, BAC_NOT_FOUND, INVALID_PAYLOAD, UNKNOWN_SENSOR, INVALID_VALUE', async () => {
    await publishAsync(device, 'serre/1/bac/1', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    await publishAsync(device, 'serre/77/bac/1', JSON.stringify({ humiditeSol: 10 }));
    await publishAsync(device, 'serre/1/bac/x', JSON.stringify({ humiditeSol: 10 }));
    await publishAsync(device, 'serre/1/bac/1', 'pas du json');
    await publishAsync(device, 'serre/1/bac/1', '[1,2]');
    await publishAsync(device, 'serre/1/bac/1', '{}');
    await publishAsync(device, 'serre/1/bac/2', JSON.stringify({ humiditeSol: 12.5, luminosite: 300 }));
    await publishAsync(device, 'serre/1/bac/2', JSON.stringify({ humiditeAmbiante: 'élevée', temperatureAmbiante: 1e400 }).replace('null', '1e400'));
    await publishAsync(device, "serre/1;DROP TABLE mesure/bac/1", JSON.stringify({ "'; DROP TABLE mesure; --": 1 }));

    // Entries are written in the order received: once the last one is in, all are.
    await waitFor('the last error row', async () => (await stack.db.count('error', 'message LIKE ?', ['%DROP TABLE mesure/bac/1%'])) === 1);

    const encoding = await errorsOfType('INVALID_ENCODING');
    expect(encoding).toHaveLength(1);
    expect(encoding[0]!.valeur).toBe('{\\xff\\xfe}');

    const notFound = (await errorsOfType('BAC_NOT_FOUND')).filter((e) => !e.message.includes('serre/1/bac/9'));
    expect(notFound.map((e) => e.message.match(/« (.*?) »/)?.[1])).toEqual(['serre/77/bac/1', 'serre/1/bac/x', 'serre/1;DROP TABLE mesure/bac/1']);

    const payload = await errorsOfType('INVALID_PAYLOAD');
    expect(payload.map((e) => e.valeur)).toEqual(['pas du json', '[1,2]', '{}']);

    // (co2 was unknown until the capteur test above added it.)
    const unknown = (await errorsOfType('UNKNOWN_SENSOR')).filter((e) => !e.message.includes('« co2 »'));
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.message).toContain('luminosite');
    const kept = await stack.db.query<RowDataPacket[]>(
      'SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 1 AND b.numero = 2 AND m.capteur = 2',
    );
    expect(kept.map((r) => Number(r.value))).toEqual([12.5]);

    const invalid = await errorsOfType('INVALID_VALUE');
    expect(invalid.map((e) => e.valeur)).toEqual(['"élevée"', '1e400']);

    // Nothing was dropped: the tables are still there and the bridge is still ready.
    expect(await stack.db.count('mesure')).toBeGreaterThan(0);
    expect((await bridge.get('/readyz')).status).toBe(200);
  });

  it('DB_INSERT_ERROR: a row the database refuses is recorded, the rest of its batch is written', async () => {
    const before = await stack.db.count('mesure');
    await publishAsync(device, 'serre/3/bac/1', JSON.stringify({ humiditeAmbiante: 42.5, humiditeSol: 43.5 }));
    const [refused] = await waitFor('DB_INSERT_ERROR', async () => {
      const r = await errorsOfType('DB_INSERT_ERROR');
      return r.length > 0 ? r : undefined;
    });
    expect(refused!.message).toContain('mesure');
    expect(refused!.valeur).toContain('42.5');
    await waitFor('the other reading', async () => (await stack.db.count('mesure')) === before + 1);
    const values = await stack.db.query<RowDataPacket[]>(
      'SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 3 AND b.numero = 1',
    );
    expect(values.map((r) => Number(r.value))).toEqual([43.5]);
  });

  it('a payload over MAX_PAYLOAD_BYTES is INVALID_PAYLOAD with a bounded valeur', async () => {
    const huge = JSON.stringify({ humiditeSol: 1, padding: 'x'.repeat(40_000) });
    await publishAsync(device, 'serre/1/bac/3', huge);
    const [tooLarge] = await waitFor('too large', async () => {
      const r = (await errorsOfType('INVALID_PAYLOAD')).filter((e) => e.message.includes('trop grand'));
      return r.length > 0 ? r : undefined;
    });
    expect(tooLarge!.valeur!.length).toBeLessThanOrEqual(1000);
  });

  it('never logs the database password', () => {
    expect(bridge.logs()).not.toContain(stack.db.bridgePassword);
  });
});

describe('health and metrics endpoints', () => {
  it('answers /healthz, /readyz and /metrics with every metric of the bridge', async () => {
    expect((await bridge.get('/healthz')).status).toBe(200);
    const ready = await bridge.get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, mqtt: true, db: true, journalUnderBudget: true });
    const { status, body } = await bridge.get('/metrics');
    expect(status).toBe(200);
    for (const name of [
      'parc_bridge_messages_received_total{kind="bac"}',
      'parc_bridge_rows_written_total{table="mesure"}',
      'parc_bridge_errors_total{type="BAC_NOT_FOUND"}',
      'parc_bridge_batch_entries_bucket',
      'parc_bridge_commit_seconds_bucket',
      'parc_bridge_journal_backlog_entries',
      'parc_bridge_journal_oldest_age_seconds',
      'parc_bridge_mqtt_connected 1',
      'parc_bridge_db_connected 1',
      'parc_bridge_mqtt_reconnects_total',
      'parc_bridge_db_reconnects_total',
      'parc_bridge_certificate_expiry_days{certificate="client"}',
      'parc_bridge_certificate_expiry_days{certificate="ca"}',
      'parc_bridge_process_resident_memory_bytes',
    ]) {
      expect(body).toContain(name);
    }
    expect((await bridge.get('/nope')).status).toBe(404);
  });
});

describe('logs', () => {
  it('has a periodic summary, one line per error kind, and per-message detail at DEBUG', async () => {
    await waitFor('a summary line with the rows written', () =>
      bridge.logLines().some((l) => l.msg === 'summary' && typeof l.receivedPerSecond === 'number' && typeof l.backlog === 'object'),
    );
    const kinds = bridge.logLines().filter((l) => l.msg === 'error rows written (one line per type per minute)');
    const perType = new Map<unknown, number>();
    for (const l of kinds) perType.set(l.type, (perType.get(l.type) ?? 0) + 1);
    expect([...perType.keys()]).toEqual(expect.arrayContaining(['INVALID_ENCODING', 'BAC_NOT_FOUND', 'INVALID_PAYLOAD', 'UNKNOWN_SENSOR']));
    // BAC_NOT_FOUND happened five times within a minute: one line.
    expect(perType.get('BAC_NOT_FOUND')).toBe(1);
    expect(bridge.logLines().filter((l) => l.msg === 'error row written' && l.type === 'BAC_NOT_FOUND').length).toBeGreaterThanOrEqual(4);
  });
});
