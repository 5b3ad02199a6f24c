/**
 * `doctor` on a web app's schema that would stop the bridge's writes: a NOT NULL column the
 * bridge gives no value, columns too narrow for what it writes, a missing grant, a small
 * max_allowed_packet and a capteur.type that matches a payload key only without case. Each is
 * one line of the doctor's output and the exit code is 1; the same checks pass on the schema
 * the project ships. Also the journals of DATA_DIR that still hold entries.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { POSITION_CLIENT_ID } from '../../src/journal/journal.js';
import { CLI, newDataDir } from '../helpers/bridge-process.js';
import { stackOnPrivateMariadb } from '../helpers/outage-stack.js';

const setup = stackOnPrivateMariadb();

function doctor(extra: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, 'doctor'], {
    env: { PATH: process.env.PATH ?? '', ...setup.stack.bridgeEnv({ DATA_DIR: newDataDir(), ...extra }) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = result.stdout + result.stderr;
  const line = (label: string) => {
    const found = out.split('\n').filter((l) => l.slice(2).startsWith(`${label}:`));
    if (found.length !== 1) throw new Error(`expected one "${label}" line, found ${found.length}:\n${out}`);
    return found[0]!;
  };
  return { code: result.status, out, line };
}

const LABELS = ['Columns without a value from the bridge', 'Column types and sizes', 'Privileges of DB_USER', 'max_allowed_packet', 'capteur.type and the payload keys'];

async function asRoot(sql: string): Promise<void> {
  await setup.stack.db.query(sql);
}

it('passes on the schema the project ships', () => {
  const result = doctor();
  for (const label of LABELS) expect(result.line(label), result.out).toMatch(/^✔ /);
  expect(result.line('Journals in DATA_DIR')).toMatch(/^✔ .*no journal/);
  expect(result.code, result.out).toBe(0);
});

it('lists every journal of DATA_DIR that still holds entries (a warning)', () => {
  const dataDir = newDataDir();
  const journal = new Journal(join(dataDir, 'slot-2'), 'normal');
  journal.setSetting(POSITION_CLIENT_ID, 'mqtt-bridge-2');
  const message = { topic: 'serre/1/bac/1', payload: Buffer.from('{"humiditeSol":40}'), receivedAt: Date.now(), packetId: undefined, dup: false };
  journal.appendMessages([message, message], 1024);
  journal.close();
  const result = doctor({ DATA_DIR: dataDir });
  expect(result.line('Journals in DATA_DIR')).toMatch(/^⚠ .*slot-2\/journal\.sqlite holds 2 entries, the oldest received .*recorded under client id mqtt-bridge-2 → start the bridge/);
  expect(result.code, result.out).toBe(0);
});

it('fails with one line per problem on a web app schema that would stop writes', async () => {
  const db = setup.stack.db;
  await asRoot('ALTER TABLE controleur MODIFY nom VARCHAR(64) NOT NULL');
  await asRoot('ALTER TABLE mesure ADD COLUMN source VARCHAR(16) NOT NULL');
  await asRoot('ALTER TABLE mesure MODIFY value INT NOT NULL');
  await asRoot('ALTER TABLE error MODIFY message VARCHAR(255) NOT NULL');
  await asRoot('ALTER TABLE controleur MODIFY ip VARCHAR(15) NULL');
  await asRoot(`REVOKE UPDATE ON \`${db.name}\`.\`controleur\` FROM '${db.bridgeUser}'@'%'`);
  await asRoot("UPDATE capteur SET type = 'HumiditeSol' WHERE type = 'humiditeSol'");
  await asRoot('SET GLOBAL max_allowed_packet = 16384');

  const result = doctor();
  expect(result.line('Columns without a value from the bridge')).toMatch(/^✘ .*controleur\.nom, mesure\.source: NOT NULL without a default.*refused \(1364\)/);
  const types = result.line('Column types and sizes');
  expect(types).toMatch(/^✘ /);
  expect(types).toContain('mesure.value is INT: readings lose their decimals');
  expect(types).toContain('error.message holds 255 characters, a message takes up to 2000');
  expect(types).toContain('controleur.ip holds 15 characters, an IPv6 address takes up to 45');
  expect(result.line('Privileges of DB_USER')).toMatch(/^✘ .*missing UPDATE on controleur/);
  expect(result.line('max_allowed_packet')).toMatch(/^⚠ max_allowed_packet: 16384 bytes: the largest error rows .* are written shortened/);
  expect(result.line('capteur.type and the payload keys')).toMatch(/^✘ capteur\.type and the payload keys: capteur\.type 'HumiditeSol' is not the payload key 'humiditeSol'.*UNKNOWN_SENSOR/);
  // Nothing else is wrong with this setup: the broker and DATA_DIR lines still pass.
  expect(result.line('MQTT CONNECT')).toMatch(/^✔ /);
  expect(result.code, result.out).toBe(1);
});
