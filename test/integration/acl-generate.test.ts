/**
 * `parc-bridge acl` against a real MariaDB (serre.controleur), its output loaded by a real
 * Mosquitto from the shipped config, with the bridge running: a controller's readings land for
 * its own serre, and what it publishes for another controller's serre never does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startBridge, type BridgeProcess } from '../helpers/bridge-process.js';
import { connectOutcome, deviceClient, startBroker, type Broker } from '../helpers/broker.js';
import { tempDir } from '../helpers/cleanup.js';
import { createTestDatabase, LOCAL_MARIADB, type TestDatabase } from '../helpers/database.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';

const MAC_A = '24:6F:28:AB:CD:0A';
const MAC_B = '24:6F:28:AB:CD:0B';
/** The controller of serre 3 has a certificate named the original way, mapped with --cn. */
const MAC_C = '24:6F:28:AB:CD:0C';
const NAMED_C = 'm5-serre-3';
/** A device of the CA that runs no serre. */
const MAC_D = '24:6F:28:AB:CD:0D';

let pki: Pki;
let db: TestDatabase;
let broker: Broker;
let bridge: BridgeProcess;
let aclFile: string;
const clients: MqttClient[] = [];

/** `node dist/cli.js acl …` as the bridge's least-privilege account. */
function generate(args: string[], database: TestDatabase = db): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'acl', ...args], { env: { PATH: process.env.PATH ?? '', ...database.env() }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

async function device(cn: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = deviceClient(broker, { ...(await pki.client(cn)), caFile: pki.caFile }, opts);
  clients.push(client);
  const outcome = await connectOutcome(client);
  if (!outcome.connected) throw new Error(`${cn} refused: ${outcome.error?.message}\n${broker.log()}`);
  return client;
}

async function readings(serre: number): Promise<number[]> {
  const rows = await db.query<RowDataPacket[]>(
    `SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre
      WHERE s.numero = ? ORDER BY m.id_mesure`,
    [serre],
  );
  return rows.map((r) => Math.round(Number(r.value)));
}

const reading = (value: number) => JSON.stringify({ humiditeSol: value });

beforeAll(async () => {
  pki = await makePki();
  db = await createTestDatabase(); // serres 1..3, bacs 1..4 each
  await db.query('UPDATE serre SET controleur = ? WHERE numero = 1', [MAC_A]);
  // Stored lower-case by the web app: the ACL still names the topic's upper-case MAC.
  await db.query('UPDATE serre SET controleur = ? WHERE numero = 2', [MAC_B.toLowerCase()]);
  await db.query('UPDATE serre SET controleur = ? WHERE numero = 3', [MAC_C]);
  aclFile = path.join(tempDir('parc-acl-'), 'acl.generated');
  const r = generate(['--out', aclFile, '--cn', `${MAC_C}=${NAMED_C}`]);
  if (r.code !== 0) throw new Error(`acl exited ${r.code}: ${r.stderr}`);
  broker = await startBroker(pki, { acl: { file: aclFile } });
  bridge = await startBridge({
    ...db.env(),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(broker.port),
    MQTT_CA_FILE: pki.caFile,
    MQTT_CERT_FILE: pki.bridge.certFile,
    MQTT_KEY_FILE: pki.bridge.keyFile,
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await bridge?.stop('SIGKILL');
  await broker?.stop();
  await db?.drop();
});

describe('parc-bridge acl on the real broker', () => {
  it('says what it wrote', () => {
    const r = generate(['--out', path.join(path.dirname(aclFile), 'again'), '--cn', `${MAC_C}=${NAMED_C}`]);
    expect(r).toEqual({ code: 0, stderr: expect.stringContaining('acl: 3 controller(s), 3 serre(s) written to') });
  });

  it("drops a controller's reading for another controller's serre (MQTT 3.1.1: silently), its own serre lands", async () => {
    const a = await device(MAC_A);
    // Same connection, in this order: once the second one is a row, the first one would be too.
    await a.publishAsync('serre/2/bac/1', reading(21), { qos: 1 });
    await a.publishAsync('serre/1/bac/1', reading(11), { qos: 1 });
    await waitFor('the reading of serre 1', async () => (await readings(1)).includes(11));
    expect(await readings(2)).toEqual([]);
  });

  it('refuses it with "not authorized" in MQTT 5, and a device that runs no serre writes nothing', async () => {
    const a = await device(MAC_A, { protocolVersion: 5 });
    await expect(a.publishAsync('serre/3/bac/1', reading(31), { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(a.publishAsync(`controleur/${MAC_B}`, '{"ip": "10.0.0.2", "status": true}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    const d = await device(MAC_D, { protocolVersion: 5 });
    await expect(d.publishAsync('serre/1/bac/2', reading(12), { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(d.publishAsync(`controleur/${MAC_D}`, '{"ip": "10.0.0.4", "status": true}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
  });

  it(`lets the controller named ${NAMED_C} (--cn) write its serre and its own status`, async () => {
    const c = await device(NAMED_C);
    await c.publishAsync('serre/3/bac/2', reading(32), { qos: 1 });
    await c.publishAsync(`controleur/${MAC_C}`, '{"ip": "10.0.0.3", "status": true}', { qos: 1 });
    await waitFor('the controller online', async () => {
      const rows = await db.query<RowDataPacket[]>('SELECT status FROM controleur WHERE id_controleur = ?', [MAC_C]);
      return Number(rows[0]?.status) === 1;
    });
    expect(await readings(3)).toEqual([32]);
  });

  it('follows a serre that changes controller once generated again and reloaded (SIGHUP)', async () => {
    await db.query('UPDATE serre SET controleur = ? WHERE numero = 2', [MAC_A]);
    expect(generate(['--out', aclFile, '--cn', `${MAC_C}=${NAMED_C}`]).code).toBe(0);
    await broker.reload();
    const a = await device(MAC_A);
    await a.publishAsync('serre/2/bac/3', reading(23), { qos: 1 });
    await waitFor('the reading of serre 2', async () => (await readings(2)).includes(23));
    expect(await readings(2)).toEqual([23]);
  });
});

describe('parc-bridge acl without serre.controleur', () => {
  it('says the column is missing and writes nothing', async () => {
    const plain = await createTestDatabase(LOCAL_MARIADB, { serres: 1, bacsPerSerre: 1 });
    try {
      await plain.query('ALTER TABLE serre DROP COLUMN controleur');
      const out = path.join(tempDir('parc-acl-missing-'), 'acl.generated');
      const r = generate(['--out', out], plain);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the table serre of database "parc_test_\w+" has no column controleur/);
      expect(spawnSync('test', ['-e', out]).status).toBe(1);
    } finally {
      await plain.drop();
    }
  });
});
