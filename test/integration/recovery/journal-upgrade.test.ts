/**
 * Upgrade with a backlog and downgrade (issue 19): a journal written by the previous release
 * (format 0, test/fixtures/journal-v0, made by commit 3f26041's Journal with 32 entries not yet
 * written) opens and drains under this version; a journal of a newer format is refused with a
 * clear message and left as it was.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDataDir } from '../../helpers/bridge-process.js';
import { controleurRow } from '../../helpers/controleur.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/journal-v0/journal.sqlite');
let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

describe('the journal format across versions', () => {
  it('drains the backlog of a journal written by the previous release', async () => {
    const dataDir = newDataDir();
    copyFileSync(FIXTURE, join(dataDir, 'journal.sqlite'));
    // Where 0.2.0 left the database: its position row at the fixture's entry 10, under the
    // default client id the fixture recorded.
    await stack.db.query("INSERT INTO bridge_journal_position VALUES ('mqtt-bridge', 'e0a7c164-6814-4653-a158-99d479c457f7', 10, NOW())");
    const bridge = await stack.startBridge({ DATA_DIR: dataDir, MQTT_CLIENT_ID: 'mqtt-bridge' });
    await waitFor('30 readings', async () => (await stack.db.count('mesure')) >= 30, 30_000);
    const rows = await stack.db.query<RowDataPacket[]>(
      'SELECT b.numero AS bac, m.capteur, ROUND(m.value, 1) AS value, CAST(m.mesure_a AS CHAR) AS at FROM mesure m JOIN bac b ON b.id_bac = m.bac ORDER BY m.mesure_a',
    );
    // Entries 1..10 were written before the upgrade; 11..40 are readings i = 11..40.
    expect(rows).toHaveLength(30);
    expect(rows.map((r) => Number(r.value))).toEqual(Array.from({ length: 30 }, (_, k) => Math.round((10 + (k + 11) / 10) * 10) / 10));
    expect(rows[0]).toMatchObject({ bac: 2, capteur: 3, at: '2026-11-20 09:00:11' }); // received 08:00:11 UTC, TZ Europe/Paris
    await waitFor('the controller', async () => (await controleurRow(stack.db, 'AA:BB:CC:00:00:01'))?.ip === '192.168.1.50', 30_000);
    await waitFor('the bad reading', async () => (await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND'")) === 1, 30_000);
    expect(bridge.logs()).toMatch(/"journalFormat":0/);
    // An ordinary start: nothing to recover, nothing lost (the one WARN is the bad reading's error row).
    const alarms = bridge.logLines().filter((l) => (l.level === 'warn' || l.level === 'error') && !/error rows written/.test(String(l.msg)));
    expect(alarms).toEqual([]);
    expect(await bridge.stop('SIGTERM')).toBe(0);
    const file = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
    expect(file.pragma('user_version', { simple: true })).toBe(1);
    file.close();
  });

  it('refuses a journal of a newer format without changing it', async () => {
    const dataDir = newDataDir();
    const file = join(dataDir, 'journal.sqlite');
    copyFileSync(FIXTURE, file);
    const raw = new Database(file);
    raw.pragma('user_version = 7');
    raw.close();
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const rowsBefore = await stack.db.count('mesure');
    const bridge = await stack.startBridge({ DATA_DIR: dataDir, MQTT_CLIENT_ID: 'mqtt-bridge' }, { waitReady: false });
    expect(await bridge.exited).toBe(1);
    expect(bridge.logs()).toMatch(/has format 7, written by a newer parc-bridge; this version reads formats up to 1\. Nothing was changed in the file/);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
    expect(await stack.db.count('mesure')).toBe(rowsBefore);
  });
});
