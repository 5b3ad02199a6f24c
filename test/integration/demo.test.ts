/**
 * `parc-bridge demo` (`npm run demo`), run as a user runs it: rows land in the demo database and
 * the status page answers; Ctrl-C (SIGINT) stops every process it started and exits 0; a second
 * run in the same folder reuses the PKI, the journal and the database. An exported DB_NAME is
 * not the demo's database, and a real installation's database is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/bridge-process.js';
import { atExit, tempDir } from '../helpers/cleanup.js';
import { LOCAL_MARIADB } from '../helpers/database.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const SUFFIX = randomBytes(4).toString('hex');
const DB_NAME = `parc_demo_test_${SUFFIX}`;
/** What a server may export for the bridge: the demo must leave it alone. */
const EXPORTED_DB_NAME = `parc_exported_${SUFFIX}`;
/** A school's database, with a serre the demo did not make. */
const REAL_DB_NAME = `parc_real_test_${SUFFIX}`;

interface DemoRun {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startDemo(dir: string, httpPort: number, args = ['--db-name', DB_NAME]): DemoRun {
  const child = spawn(process.execPath, [CLI, 'demo', '--dir', dir, '--rate', '10', ...args], {
    env: { PATH: process.env.PATH ?? '', DB_NAME: EXPORTED_DB_NAME, HTTP_PORT: String(httpPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  atExit(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm run demo', () => {
  let dir: string;
  let httpPort: number;
  let admin: mysql.Pool;

  const mesureRows = async () => {
    const [rows] = await admin.query<RowDataPacket[]>('SELECT count(*) AS n FROM ??.mesure', [DB_NAME]);
    return Number(rows[0]?.n);
  };

  /** Starts the demo; resolves once it prints the status page's address, with the MQTT port. */
  async function readyDemo(): Promise<DemoRun & { mqttPort: number }> {
    const run = startDemo(dir, httpPort);
    await waitFor('the status page address', () => run.output().includes(`status page http://127.0.0.1:${httpPort}/`), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${run.output()}`);
    });
    const mqttPort = Number(/Mosquitto .* on 127\.0\.0\.1:(\d+)/.exec(run.output())?.[1]);
    return { ...run, mqttPort };
  }

  const databaseExists = async (name: string) => {
    const [rows] = await admin.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    return rows.length > 0;
  };
  const tablesOf = async (name: string) => {
    const [rows] = await admin.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [name]);
    return rows.map((r) => String(r.t));
  };

  beforeAll(async () => {
    dir = path.join(tempDir('parc-demo-test-'), 'demo');
    httpPort = await freePort();
    admin = mysql.createPool({ ...LOCAL_MARIADB, connectionLimit: 2 });
  });

  afterAll(async () => {
    for (const name of [DB_NAME, EXPORTED_DB_NAME, REAL_DB_NAME]) await admin.query('DROP DATABASE IF EXISTS ??', [name]).catch(() => undefined);
    await admin.end();
  });

  it('lands rows and serves the status page; Ctrl-C stops the broker and the bridge and exits 0', async () => {
    const run = await readyDemo();
    expect(run.output()).toContain('PKI in');
    expect(run.output()).toContain('made by mosquitto/server-certs.sh and clients-certs.sh');
    expect(run.output()).toContain(`DB_NAME (${EXPORTED_DB_NAME}) is the bridge's setting and not used here; the demo's database is ${DB_NAME}`);
    await waitFor('rows in mesure', async () => (await mesureRows()) > 0, 60_000);
    expect(await databaseExists(EXPORTED_DB_NAME)).toBe(false);

    const page = await fetch(`http://127.0.0.1:${httpPort}/`, { signal: AbortSignal.timeout(5_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await portOpen(run.mqttPort)).toBe(true);

    run.child.kill('SIGINT');
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toContain('demo: stopped');
    expect(await portOpen(run.mqttPort)).toBe(false);
    expect(await portOpen(httpPort)).toBe(false);
  }, 180_000);

  it('runs again on what the first run made', async () => {
    const ca = readFileSync(path.join(dir, 'pki', 'server-certs', 'ca.crt'), 'utf8');
    const before = await mesureRows();
    const run = await readyDemo();
    expect(run.output()).toContain('(reused)');
    await waitFor('more rows in mesure', async () => (await mesureRows()) > before, 60_000);
    run.child.kill('SIGINT');
    expect(await run.exited, run.output()).toBe(0);
    expect(readFileSync(path.join(dir, 'pki', 'server-certs', 'ca.crt'), 'utf8')).toBe(ca);
  }, 180_000);

  it('refuses a database holding serres it did not make, and parc, before making anything', async () => {
    await admin.query('CREATE DATABASE ??', [REAL_DB_NAME]);
    await admin.query('CREATE TABLE ??.serre (id_serre INT AUTO_INCREMENT PRIMARY KEY, numero INT NOT NULL)', [REAL_DB_NAME]);
    await admin.query('INSERT INTO ??.serre (numero) VALUES (7)', [REAL_DB_NAME]);
    const otherDir = path.join(tempDir('parc-demo-refused-'), 'demo');
    for (const name of [REAL_DB_NAME, 'parc']) {
      const run = startDemo(otherDir, httpPort, ['--db-name', name]);
      expect(await run.exited, run.output()).toBe(2);
      expect(run.output()).toContain(`demo: refused: the database "${name}" `);
      expect(run.output()).toContain('--force-db');
    }
    expect(existsSync(otherDir)).toBe(false);
    expect(await tablesOf(REAL_DB_NAME)).toEqual(['serre']);
    // The demo's own database carries its mark: a later run takes it without --force-db.
    expect(await tablesOf(DB_NAME)).toContain('parc_demo_marker');
  }, 60_000);
});
