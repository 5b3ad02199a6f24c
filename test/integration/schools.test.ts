/**
 * One central bridge serving several schools (SCHOOLS, docs/schools.md), on a real mTLS
 * Mosquitto from the shipped config and real MariaDB databases, one per school. Every school has
 * a serre/1/bac/1: their readings, published at QoS 0 under ecole/<id>/ as a school's broker
 * bridges them, must land in their own school's database only, exactly once, through a school's
 * database refusing the bridge, a SIGKILL, and a school leaving SCHOOLS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { RowDataPacket } from 'mysql2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRANTS } from '../../src/db/create-user.js';
import { schoolDatabase } from '../../src/schools/school-ids.js';
import { launchChromium, pageErrors, text } from '../helpers/browser.js';
import { CLI, newDataDir, startBridge, type BridgeProcess } from '../helpers/bridge-process.js';
import { metricValue } from '../helpers/metrics.js';
import { startPubackDropper, type PubackDropper } from '../helpers/puback-dropper.js';
import { publishAsync, SteadyStream, waitForDelivery, type Delivery } from '../helpers/readings.js';
import { createSchoolDatabases, startCentralBroker, type CentralBroker, type SchoolDatabases } from '../helpers/schools.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SERVED = ['ecole-a', 'ecole-b'];
/** Has a database, and a broker publishing for it, but is not in SCHOOLS. */
const NOT_SERVED = 'ecole-c';
const prefix = (ecole: string) => `ecole/${ecole}/`;
/** A controller of each school (the last letter of its id makes its MAC). */
const mac = (ecole: string) => `24:6F:28:00:0${ecole.at(-1)!.toUpperCase()}:01`;

let central: CentralBroker;
let dbs: SchoolDatabases;
const publishers = new Map<string, MqttClient>();
const dataDir = newDataDir();
let bridge: BridgeProcess | undefined;

beforeAll(async () => {
  central = await startCentralBroker();
  dbs = await createSchoolDatabases([...SERVED, NOT_SERVED], { bacsPerSerre: 5 });
  for (const ecole of [...SERVED, NOT_SERVED]) publishers.set(ecole, await central.publisher(`school-broker-${ecole}`));
});

/** Streams a failed test left running would publish into the next one. */
const running = new Set<SteadyStream>();
afterEach(async () => {
  for (const stream of running) await stream.stop().catch(() => undefined);
  running.clear();
});

afterAll(async () => {
  await bridge?.stop('SIGKILL');
  await central?.close();
  await dbs?.drop();
});

const start = (schools = SERVED) => startBridge({ ...central.env(), ...dbs.env(schools), DATA_DIR: dataDir, DB_STATEMENT_TIMEOUT: '3' });

/**
 * Each served school's device stream to serre/1/bac/<bac> (the same in every school), at QoS 0
 * like the firmware, through its school's prefix; each test its own bac (values restart at 0).
 */
function streams(bac: number, intervalMs = 25): Map<string, SteadyStream> {
  return new Map(SERVED.map((ecole) => [ecole, stream(ecole, bac, intervalMs)]));
}

function stream(ecole: string, bac: number, intervalMs: number): SteadyStream {
  const started = new SteadyStream([publishers.get(ecole)!], intervalMs, bac, 0, prefix(ecole)).start();
  running.add(started);
  return started;
}

async function deliveries(streaming: Map<string, SteadyStream>): Promise<Record<string, Delivery>> {
  const out: Record<string, Delivery> = {};
  for (const [ecole, s] of streaming) out[ecole] = await waitForDelivery(dbs.of(ecole), await s.stop(), 90_000);
  return out;
}

function expectExactlyOnce(found: Record<string, Delivery>): void {
  for (const delivery of Object.values(found)) {
    expect(delivery.expected).toBeGreaterThan(0);
    expect(delivery).toMatchObject({ lost: 0, duplicated: 0, rows: delivery.expected });
  }
}

/** `mesure` rows of humiditeSol (capteur 2) with this value. */
const markers = (ecole: string, value: number) => dbs.of(ecole).count('mesure', 'capteur = 2 AND value = ?', [value]);

function cli(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', TZ: 'Europe/Paris', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, out: result.stdout + result.stderr };
}

it('writes each school to its own database, never mixed; a school not in SCHOOLS is stored nowhere', async () => {
  bridge = await start();
  const sending = streams(1);
  // The same topic in every school, a value each: each must be found in its own database only.
  const marks: Record<string, number> = { 'ecole-a': 11, 'ecole-b': 22, [NOT_SERVED]: 33 };
  for (const [ecole, value] of Object.entries(marks)) {
    await publishAsync(publishers.get(ecole)!, `${prefix(ecole)}serre/1/bac/1`, JSON.stringify({ humiditeSol: value }), 0);
    await publishAsync(publishers.get(ecole)!, `${prefix(ecole)}controleur/${mac(ecole)}`, JSON.stringify({ ip: '10.0.0.5', status: true }), 0);
  }
  const quietStream = stream(NOT_SERVED, 1, 50);
  await sleep(3_000);
  await quietStream.stop();
  const found = await deliveries(sending);
  console.log('two schools, same serre/1/bac/1:', found);
  expectExactlyOnce(found);

  for (const ecole of SERVED) {
    for (const [other, value] of Object.entries(marks)) expect(await markers(ecole, value)).toBe(other === ecole ? 1 : 0);
    const controllers = await dbs.of(ecole).query<RowDataPacket[]>('SELECT id_controleur AS mac FROM controleur');
    expect(controllers.map((c) => String(c.mac))).toEqual([mac(ecole)]);
  }
  expect(await dbs.of(NOT_SERVED).count('mesure')).toBe(0);
  expect(await dbs.of(NOT_SERVED).count('controleur')).toBe(0);
  expect(await dbs.of(NOT_SERVED).count('error')).toBe(0);
  expect(existsSync(join(dataDir, `ecole-${NOT_SERVED}`))).toBe(false);
});

it('keeps each school its own journal and its own position row, under the same client id', async () => {
  const rows = new Map<string, RowDataPacket[]>();
  for (const ecole of [...SERVED, NOT_SERVED]) rows.set(ecole, await dbs.of(ecole).query('SELECT client_id, journal_id, last_seq FROM bridge_journal_position'));
  const [a, b] = SERVED.map((ecole) => rows.get(ecole)!);
  expect(a).toHaveLength(1);
  expect(b).toHaveLength(1);
  expect(a![0]!.client_id).toBe(central.env().MQTT_CLIENT_ID);
  expect(b![0]!.client_id).toBe(a![0]!.client_id);
  expect(b![0]!.journal_id).not.toBe(a![0]!.journal_id);
  expect(rows.get(NOT_SERVED)).toEqual([]);
  for (const ecole of SERVED) expect(existsSync(join(dataDir, `ecole-${ecole}`, 'journal.sqlite'))).toBe(true);
});

it("holds only the school whose database refuses the bridge, says which, and catches it up exactly once", async () => {
  const held = 'ecole-b';
  const heldDb = schoolDatabase(dbs.template, held);
  for (const [, table] of GRANTS) await dbs.admin.query('REVOKE ALL PRIVILEGES ON ??.?? FROM ?@?', [heldDb, table, dbs.user, '%']);
  const sending = streams(2);
  const readyz = await waitFor('ecole-b reported without its database', async () => {
    const res = await bridge!.get('/readyz');
    const body = JSON.parse(res.body) as { schools?: { dbDown: string[] } };
    return body.schools?.dbDown.includes(held) ? res : undefined;
  });
  // One school's database is that school's problem: the bridge stays ready for the others.
  expect(readyz.status).toBe(200);
  expect(JSON.parse(readyz.body)).toMatchObject({ ready: true, db: true, schools: { total: 2, dbDown: [held] } });
  const landing = await dbs.of('ecole-a').count('mesure');
  await sleep(3_000);
  expect(await dbs.of('ecole-a').count('mesure')).toBeGreaterThan(landing + 50);
  expect(await metricValue(bridge!, 'parc_bridge_db_connected', `ecole="${held}"`)).toBe(0);
  expect(await metricValue(bridge!, 'parc_bridge_db_connected', 'ecole="ecole-a"')).toBe(1);
  expect(await metricValue(bridge!, 'parc_bridge_journal_backlog_entries', `ecole="${held}"`)).toBeGreaterThan(0);
  const status = JSON.parse((await bridge!.get('/api/status')).body) as { schools: Array<{ ecole: string; database: { problem: { fix: string } | null } }> };
  expect(status.schools.map((s) => s.ecole)).toEqual(SERVED);
  expect(status.schools.find((s) => s.ecole === held)?.database.problem?.fix).toMatch(/create-db-user/);
  // The status page the operator opens: the schools, the one to fix named; no per-school parts.
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`http://127.0.0.1:${bridge!.httpPort}/`);
    await page.locator(`#schools-body tr[data-ecole="${held}"]`).waitFor();
    expect(await text(page, '#overall')).toMatch(/^Attention : base de données indisponible pour ecole-b/);
    expect(await page.locator(`#schools-body tr[data-ecole="${held}"] .badge`).getAttribute('class')).toBe('badge ko');
    expect(await page.locator('#schools-body tr[data-ecole="ecole-a"] .badge').getAttribute('class')).toBe('badge ok');
    for (const part of ['#bacs', '#controllers', '#errors']) expect(await page.locator(part).isHidden()).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }

  // The doctor names the school to fix; migrate runs on every school.
  const env = { ...central.env(), ...dbs.env(SERVED), DATA_DIR: newDataDir() };
  const doctor = cli(['doctor'], env);
  expect(doctor.out).toMatch(new RegExp(`✘ School ${held}: database ${heldDb}: Database connection: cannot connect`));
  expect(doctor.out).toMatch(/✘ School databases: 1 of 2 school databases pass every check \(ecole-a\)/);
  expect(doctor.code).toBe(1);
  const migrate = cli(['migrate'], { ...env, DB_USER: 'root', DB_PASSWORD: '' });
  expect(migrate.out).toMatch(/done for every school/);
  expect(migrate.code).toBe(0);

  // The DBA runs create-db-user again: the grants are back, the school's backlog is written.
  const granted = cli(['create-db-user'], { ...env, DB_ADMIN_USER: 'root', DB_ADMIN_PASSWORD: '' });
  expect(granted.out).toMatch(/bridge account ready on every school database/);
  expect(granted.code).toBe(0);
  // The school another instance serves with the same account and DB_NAME keeps its grants.
  const [kept] = await dbs.admin.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
    [`'${dbs.user}'@'%'`, schoolDatabase(dbs.template, NOT_SERVED)],
  );
  expect(Number(kept[0]!.n)).toBeGreaterThan(0);
  await bridge!.waitForLog(/"ecole":"ecole-b".*database takes writes again/, 30_000);
  await sleep(1_000);
  const found = await deliveries(sending);
  console.log('ecole-b without grants for a while:', found);
  expectExactlyOnce(found);
  expect(await dbs.of(held).count('error', "type_erreur = 'DB_ERROR'")).toBe(1);
  expect(await dbs.of('ecole-a').count('error', "type_erreur = 'DB_ERROR'")).toBe(0);
});

it('loses and doubles nothing of any school when the bridge is killed', async () => {
  const sending = streams(3, 20);
  await sleep(2_000);
  await bridge!.stop('SIGKILL');
  await sleep(1_000);
  bridge = await start();
  await sleep(2_000);
  const found = await deliveries(sending);
  console.log('bridge SIGKILL, two schools:', found, { redeliveriesRecognised: await metricValue(bridge, 'parc_bridge_duplicates_skipped_total') });
  expectExactlyOnce(found);
});

describe('the broker sending again what the bridge stored but did not acknowledge (DUP)', () => {
  const DROPPED = 40;
  let dropper: PubackDropper;
  beforeAll(async () => {
    dropper = await startPubackDropper(central.broker, central.pki);
  });
  afterAll(async () => {
    await dropper?.close();
  });
  /** Plain MQTT to the proxy, which speaks mTLS to the broker with the bridge's certificate. */
  const throughDropper = (retrySeconds: string) =>
    startBridge({ ...central.env(), ...dbs.env(SERVED), DATA_DIR: dataDir, MQTT_TLS: 'false', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(dropper.port), MQTT_RETRY_DELAY: retrySeconds });

  it('recognises the redeliveries of every school on one connection', async () => {
    await bridge!.stop('SIGTERM');
    bridge = await throughDropper('0.5');
    const dropped = dropper.dropNext(DROPPED);
    const sending = streams(4, 20);
    await dropped;
    await sleep(3_000); // reconnect, redelivery, and more readings after it
    const found = await deliveries(sending);
    const recognised = await metricValue(bridge, 'parc_bridge_duplicates_skipped_total');
    console.log('redelivery, two schools:', found, { pubacksDropped: DROPPED, recognised });
    expectExactlyOnce(found);
    expect(recognised).toBeGreaterThanOrEqual(DROPPED);
  });

  it('recognises them after a restart too, from the schools\' journals', async () => {
    // No reconnect before the kill: the unacknowledged messages come back to the next process.
    await bridge!.stop('SIGTERM');
    bridge = await throughDropper('60');
    const dropped = dropper.dropNext(DROPPED);
    const sending = streams(5, 20);
    await dropped;
    await bridge.stop('SIGKILL');
    bridge = await throughDropper('0.5');
    await sleep(2_000);
    const found = await deliveries(sending);
    const recognised = await metricValue(bridge, 'parc_bridge_duplicates_skipped_total');
    console.log('redelivery after a restart, two schools:', found, { pubacksDropped: DROPPED, recognised });
    expectExactlyOnce(found);
    expect(recognised).toBeGreaterThanOrEqual(DROPPED);
    await bridge.stop('SIGTERM');
    bridge = await start();
  });
});

it("unsubscribes a school removed from SCHOOLS, after writing what its session had queued", async () => {
  const removed = 'ecole-b';
  await bridge!.stop('SIGTERM');
  const before = await dbs.of(removed).count('mesure');
  // Published while no bridge runs: the broker queues them for the session.
  for (let i = 0; i < 20; i++) await publishAsync(publishers.get(removed)!, `${prefix(removed)}serre/2/bac/1`, JSON.stringify({ humiditeAmbiante: 50 + i }), 0);
  bridge = await start(['ecole-a']);
  await waitFor('the queued readings of the removed school written', async () => (await dbs.of(removed).count('mesure')) === before + 20);
  await bridge.waitForLog(/dropped the previous subscription to readings or schools no longer configured/);
  const status = JSON.parse((await bridge.get('/api/status')).body) as { schools: Array<{ ecole: string; subscribed: boolean }> };
  expect(status.schools).toEqual([expect.objectContaining({ ecole: 'ecole-a', subscribed: true }), expect.objectContaining({ ecole: removed, subscribed: false })]);

  // From now on the broker delivers it nothing: a later reading of the served school lands, not its.
  await publishAsync(publishers.get(removed)!, `${prefix(removed)}serre/2/bac/1`, JSON.stringify({ humiditeAmbiante: 99 }), 0);
  await publishAsync(publishers.get('ecole-a')!, `${prefix('ecole-a')}serre/2/bac/1`, JSON.stringify({ humiditeAmbiante: 77 }), 0);
  await waitFor('the served school still written', async () => (await dbs.of('ecole-a').count('mesure', 'value = 77')) === 1);
  await sleep(1_000);
  expect(await dbs.of(removed).count('mesure')).toBe(before + 20);
  expect(await bridge.stop('SIGTERM')).toBe(0);
});
