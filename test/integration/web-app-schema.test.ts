/**
 * A web-app schema that refuses what ours accepts: the refused row alone becomes a
 * DB_INSERT_ERROR row, and everything behind it keeps landing.
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publishAsync, readingPayload } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { controleurRow } from '../helpers/controleur.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

const controller = (mac: string) => controleurRow(stack.db, mac);

it('controleur.nom NOT NULL without a default: a new controller is one DB_INSERT_ERROR, known ones and readings go on', async () => {
  const known = '24:6F:28:00:0B:01';
  const unknown = '24:6F:28:00:0B:02';
  await stack.db.query("INSERT INTO controleur (id_controleur, nom, ip, status) VALUES (?, 'serre 1', '10.0.0.1', FALSE)", [known]);
  await stack.db.query('ALTER TABLE controleur MODIFY nom VARCHAR(64) NOT NULL');
  const bridge = await stack.startBridge();

  const knownDevice = await stack.device(known);
  const unknownDevice = await stack.device(unknown);
  const reader = await stack.device('m5-serre-1');
  await publishAsync(unknownDevice, `controleur/${unknown}`, JSON.stringify({ ip: '10.0.0.2', status: true }), 0);
  for (let i = 0; i < 50; i++) await publishAsync(reader, 'serre/1/bac/1', readingPayload(i), 0);
  await publishAsync(knownDevice, `controleur/${known}`, JSON.stringify({ ip: '10.0.0.11', status: true }), 0);

  await waitFor('readings behind the refused row', async () => (await stack.db.count('mesure')) === 50);
  await waitFor('the known controller updated', async () => (await controller(known))?.status === 1);
  expect(await controller(known)).toEqual({ ip: '10.0.0.11', status: 1 });
  expect(await controller(unknown)).toBeUndefined();
  const refused = await stack.db.query<RowDataPacket[]>("SELECT message, valeur FROM error WHERE type_erreur = 'DB_INSERT_ERROR'");
  expect(refused).toHaveLength(1);
  expect(refused[0]!.message).toContain('controleur');
  expect(refused[0]!.message).toContain('nom');
  expect(refused[0]!.valeur).toContain(unknown);
  expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(0);
  expect(await bridge.stop()).toBe(0);
});

it('a NOT NULL column of mesure without a default holds the readings (never one DB_INSERT_ERROR each), then writes them all', async () => {
  const bridge = await stack.startBridge();
  const device = await stack.device('m5-serre-3');
  const before = await stack.db.count('mesure');
  const refusedBefore = await stack.db.count('error', "type_erreur = 'DB_INSERT_ERROR'");
  await stack.db.query('ALTER TABLE mesure ADD COLUMN source VARCHAR(16) NOT NULL');
  for (let i = 0; i < 30; i++) await publishAsync(device, 'serre/3/bac/2', readingPayload(i), 0);

  await bridge.waitForLog(/refuses every write until this is fixed/, 30_000);
  const held = bridge.logLines().find((l) => typeof l.fix === 'string' && String(l.fix).includes('NOT NULL'));
  expect(String(held?.fix)).toMatch(/table mesure has a NOT NULL column without a default/);
  expect(JSON.parse((await bridge.get('/readyz')).body)).toMatchObject({ dbProblem: { aFaire: expect.stringMatching(/la table mesure a une colonne NOT NULL/) } });

  await stack.db.query("ALTER TABLE mesure MODIFY source VARCHAR(16) NOT NULL DEFAULT 'pont'");
  await waitFor('the held readings written', async () => (await stack.db.count('mesure')) === before + 30, 60_000);
  expect(await stack.db.count('error', "type_erreur = 'DB_INSERT_ERROR'")).toBe(refusedBefore);
  expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(1);
});
