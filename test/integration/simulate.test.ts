/**
 * `parc-bridge simulate` against the real stack with the bridge running: its traffic must land
 * as rows (readings in `mesure`, controllers in `controleur`, bad messages in `error`), its Last
 * Will must fire on an abrupt drop, and bad arguments or missing certificates must be explained.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/bridge-process.js';
import { deviceClient } from '../helpers/broker.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const MAC_1 = '02:00:00:00:00:01';
const MAC_2 = '02:00:00:00:00:02';
const SENSORS_PER_READING = 3;

let stack: Stack;
let certsDir: string;

function simulate(args: string[], extraEnv: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, 'simulate', ...args], {
    env: { PATH: process.env.PATH ?? '', ...stack.bridgeEnv(), ...extraEnv },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, out: result.stdout + result.stderr };
}

/** "by kind: announce 2, reading 60" -> { announce: 2, reading: 60 } */
function summary(stdout: string): Record<string, number> {
  const line = stdout.split('\n').find((l) => l.startsWith('simulate: ') && l.includes('by kind:'));
  if (!line) throw new Error(`no summary line in:\n${stdout}`);
  return Object.fromEntries(
    line
      .split('by kind: ')[1]!
      .split(', ')
      .map((part) => part.split(' '))
      .map(([k, n]) => [k!, Number(n)]),
  );
}

beforeAll(async () => {
  stack = await createStack();
  // No error rate limit in the way: every bad message must show up as its own row.
  await stack.startBridge({ ERROR_RATE_LIMIT: '100000' });
  certsDir = path.join(stack.pki.dir, 'client-certs');
});

afterAll(async () => {
  await stack?.close();
});

describe('simulate', () => {
  it('explains missing device certificates and which command makes them', () => {
    const result = simulate(['--serres', '2', '--certs-dir', certsDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${MAC_1}: missing client.crt, client.key, ca.crt`);
    expect(result.stderr).toContain(`PKI_DIR=${stack.pki.dir} mosquitto/clients-certs.sh ${MAC_2}`);
    expect(result.stderr).toContain('--make-certs');
  });

  it('refuses bad arguments with exit code 2 and says what is wrong', () => {
    const result = simulate(['--serres', 'two', '--qos', '2', '--bad-ratio', '1.5']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--serres must be a whole number');
    expect(result.stderr).toContain('--qos must be 0 or 1');
    expect(result.stderr).toContain('--bad-ratio must be a share from 0 to 1');
    expect(simulate(['--frobnicate']).code).toBe(2);
  });

  it('lands readings in mesure and announces its controllers as online', async () => {
    const result = simulate(['--serres', '2', '--bacs', '2', '--rate', '20', '--count', '60', '--qos', '1', '--certs-dir', certsDir, '--make-certs']);
    expect(result.code, result.out).toBe(0);
    expect(result.stderr).toContain(`made the device identity ${MAC_1}`);
    expect(summary(result.stdout)).toMatchObject({ reading: 60, announce: 2 });

    // QoS 1 end to end: every reading the broker acknowledged becomes rows, once.
    await waitFor('60 readings in mesure', async () => (await stack.db.count('mesure')) >= 60 * SENSORS_PER_READING, 30_000);
    expect(await stack.db.count('mesure')).toBe(60 * SENSORS_PER_READING);
    const perBac = await stack.db.query<RowDataPacket[]>(
      'SELECT s.numero AS serre, b.numero AS bac, count(*) AS n FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre GROUP BY s.numero, b.numero ORDER BY 1, 2',
    );
    expect(perBac.map((r) => [Number(r.serre), Number(r.bac), Number(r.n)])).toEqual([
      [1, 1, 45],
      [1, 2, 45],
      [2, 1, 45],
      [2, 2, 45],
    ]);
    const ranges = await stack.db.query<RowDataPacket[]>(
      'SELECT c.type AS type, min(m.value) AS lo, max(m.value) AS hi FROM mesure m JOIN capteur c ON m.capteur = c.id_capteur GROUP BY c.type',
    );
    const byType = Object.fromEntries(ranges.map((r) => [String(r.type), [Number(r.lo), Number(r.hi)]]));
    expect(byType.humiditeAmbiante![0]).toBeGreaterThanOrEqual(40);
    expect(byType.humiditeAmbiante![1]).toBeLessThanOrEqual(90);
    expect(byType.temperatureAmbiante![0]).toBeGreaterThanOrEqual(10);
    expect(byType.temperatureAmbiante![1]).toBeLessThanOrEqual(35);
    expect(byType.humiditeSol![0]).toBeGreaterThanOrEqual(20);
    expect(byType.humiditeSol![1]).toBeLessThanOrEqual(80);
    expect(await stack.db.count('error')).toBe(0);

    await waitFor('controllers online', async () => (await stack.db.count('controleur', 'status = 1')) === 2, 15_000);
    const controllers = await stack.db.query<RowDataPacket[]>('SELECT id_controleur, ip, status FROM controleur ORDER BY id_controleur');
    expect(controllers.map((c) => [c.id_controleur, c.ip, Number(c.status)])).toEqual([
      [MAC_1, '127.0.0.1', 1],
      [MAC_2, '127.0.0.1', 1],
    ]);
  });

  it('sends bad payloads that land as error rows of each kind', async () => {
    const result = simulate(['--serres', '2', '--bacs', '2', '--rate', '50', '--count', '50', '--qos', '1', '--bad-ratio', '1', '--certs-dir', certsDir]);
    expect(result.code, result.out).toBe(0);
    const sent = summary(result.stdout);
    expect(sent.reading ?? 0).toBe(0);
    const badKinds = ['invalid_json', 'unknown_sensor', 'out_of_range', 'string_value', 'unknown_bac'];
    expect(badKinds.reduce((n, k) => n + (sent[k] ?? 0), 0)).toBe(50);

    const expected: Record<string, string> = {
      invalid_json: 'INVALID_PAYLOAD',
      unknown_sensor: 'UNKNOWN_SENSOR',
      out_of_range: 'VALUE_OUT_OF_RANGE',
      string_value: 'INVALID_VALUE',
      unknown_bac: 'BAC_NOT_FOUND',
    };
    await waitFor('one error row per bad message', async () => (await stack.db.count('error')) >= 50, 30_000);
    const rows = await stack.db.query<RowDataPacket[]>('SELECT type_erreur, count(*) AS n FROM error GROUP BY type_erreur');
    const got = Object.fromEntries(rows.map((r) => [String(r.type_erreur), Number(r.n)]));
    const want: Record<string, number> = {};
    for (const kind of badKinds) if (sent[kind]) want[expected[kind]!] = sent[kind]!;
    expect(got).toEqual(want);
  });

  it('drops a controller abruptly so that its Last Will fires, then it comes back', async () => {
    const watcher = deviceClient(stack.broker, { ...stack.pki.bridge, caFile: stack.pki.caFile }, { clientId: 'simulate-test-watcher' });
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await new Promise<void>((resolve) => watcher.once('connect', () => resolve()));
    await watcher.subscribeAsync(['controleur/+', 'controleur/+/disconnect'], { qos: 1 });

    const child = spawn(
      process.execPath,
      [CLI, 'simulate', '--serres', '1', '--bacs', '1', '--rate', '5', '--disconnect-every', '1', '--certs-dir', certsDir],
      { env: { PATH: process.env.PATH ?? '', ...stack.bridgeEnv() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Runs until a signal, as in a demo: stop it once it dropped and announced itself again.
      await waitFor('a Last Will and a second announcement', () => seen.includes(`controleur/${MAC_1}/disconnect`) && seen.filter((t) => t === `controleur/${MAC_1}`).length >= 2, 30_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const sent = summary(stdout);
    expect(sent.drop).toBeGreaterThanOrEqual(1);
    expect(sent.reconnect).toBeGreaterThanOrEqual(1);
    watcher.end(true);
  });
});
