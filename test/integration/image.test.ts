/**
 * The Docker image, built from the project's Dockerfile and run for real: against a MariaDB of
 * the test's own and an mTLS Mosquitto from the shipped config, on the host network. No image
 * registry is reachable here, so the Dockerfile's NODE_IMAGE is a local stand-in for
 * node:20-bookworm-slim made from Debian's packages (scripts/node-base-image.sh, cached).
 *
 * Skipped, saying why, only where no Docker engine can start (scripts/start-dockerd.sh).
 * Alone: `npx vitest run test/integration/image.test.ts` (as root; 2 min 13 s the first time on
 * this machine, about 30 s once the base image and the build layers are cached).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deviceClient, startBroker, type Broker } from '../helpers/broker.js';
import { tempDir } from '../helpers/cleanup.js';
import type { TestDatabase } from '../helpers/database.js';
import { buildProjectImage, docker, dockerEngineProblem, inspect, removeAtExit, run } from '../helpers/docker.js';
import { makePki, REPO_ROOT, type Pki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { PrivateMariadb } from '../helpers/private-mariadb.js';
import { burst, checkDelivery, waitForDelivery } from '../helpers/readings.js';
import { waitFor } from '../helpers/wait.js';

const engineProblem = await dockerEngineProblem();
if (engineProblem) console.warn(`image.test.ts SKIPPED: ${engineProblem}`);

const IMAGE = 'parc-bridge:image-test';
const SETUP_TIMEOUT_MS = 20 * 60_000;
const suffix = randomBytes(4).toString('hex');
const CLIENT_ID = `mqtt-bridge-image-${suffix}`;
const VOLUME = `parc-image-test-data-${suffix}`;
const TEST_TIMEOUT_MS = 180_000;

describe.skipIf(engineProblem !== undefined)('the Docker image, built and run', () => {
  let pki: Pki;
  let broker: Broker;
  let mariadb: PrivateMariadb;
  let admin: mysql.Pool;
  let db: TestDatabase;
  let device: MqttClient;
  let containers = 0;
  const running = new Set<string>();

  const dbName = `parc_image_${suffix}`;
  const bridgeUser = `pb_image_${suffix}`;
  const bridgePassword = randomBytes(12).toString('base64url');

  /** `docker run` on the host network with the bridge's settings; returns the container name. */
  async function runBridge(extraEnv: Record<string, string> = {}): Promise<{ name: string; httpPort: number }> {
    const name = `parc-image-test-${suffix}-${++containers}`;
    const httpPort = await freePort();
    removeAtExit('container', name);
    running.add(name);
    const env = {
      DB_HOST: '127.0.0.1',
      DB_PORT: String(mariadb.port),
      DB_NAME: dbName,
      DB_USER: bridgeUser,
      DB_PASSWORD: bridgePassword,
      DB_RETRY_DELAY: '0.5',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.port),
      MQTT_RETRY_DELAY: '0.5',
      MQTT_CLIENT_ID: CLIENT_ID,
      HTTP_PORT: String(httpPort),
      TZ: 'Europe/Paris',
      ...extraEnv,
    };
    await docker([
      'run', '--detach', '--name', name, '--network', 'host',
      // The image's own HEALTHCHECK command, checked every 2 s instead of 30 s.
      '--health-interval', '2s',
      '--volume', `${pki.bridge.certFile}:/certs/client.crt:ro`,
      '--volume', `${pki.bridge.keyFile}:/certs/client.key:ro`,
      '--volume', `${pki.caFile}:/certs/ca.crt:ro`,
      '--volume', `${VOLUME}:/data`,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      IMAGE,
    ]);
    return { name, httpPort };
  }

  /** A one-shot command of the image (`node dist/cli.js <command>`): exit code and output. */
  async function oneShot(command: string, env: Record<string, string>) {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    return run('docker', ['run', '--rm', '--network', 'host', ...envArgs, IMAGE, 'node', 'dist/cli.js', command]);
  }

  async function metric(httpPort: number, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
  }

  async function waitHealthy(name: string): Promise<void> {
    await waitFor(
      `container ${name} healthy`,
      async () => {
        const status = await inspect(name, '{{.State.Status}} {{.State.Health.Status}}');
        if (status.startsWith('exited')) {
          const logs = await run('docker', ['logs', name]);
          throw new Error(`${name} exited:\n${logs.stdout}${logs.stderr}`);
        }
        return status === 'running healthy';
      },
      90_000,
      500,
    );
  }

  /** docker stop with Compose's stop_grace_period; the exit code and the log. */
  async function stopContainer(name: string): Promise<{ exitCode: number; logs: string }> {
    await docker(['stop', '--time', '30', name], 60_000);
    const exitCode = Number(await inspect(name, '{{.State.ExitCode}}'));
    const logs = (await run('docker', ['logs', name])).stdout;
    await docker(['rm', name]);
    running.delete(name);
    return { exitCode, logs };
  }

  beforeAll(async () => {
    await buildProjectImage(IMAGE);
    // As root, clients-certs.sh hands the bridge's key to uid 1001, mode 600 (the image's user).
    pki = await makePki();
    broker = await startBroker(pki);
    mariadb = await PrivateMariadb.create();
    admin = mysql.createPool({ ...mariadb.server, connectionLimit: 2, dateStrings: true });
    await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
    const pool = mysql.createPool({ ...mariadb.server, database: dbName, connectionLimit: 2, dateStrings: true });
    db = {
      server: mariadb.server,
      name: dbName,
      bridgeUser,
      bridgePassword,
      env: () => ({ DB_HOST: '127.0.0.1', DB_PORT: String(mariadb.port), DB_NAME: dbName, DB_USER: bridgeUser, DB_PASSWORD: bridgePassword }),
      async query<T extends RowDataPacket[]>(sql: string, params: unknown[] = []) {
        const [rows] = await pool.query<T>(sql, params);
        return rows;
      },
      async count(table: string, where = '1', params: unknown[] = []) {
        const [rows] = await pool.query<RowDataPacket[]>(`SELECT count(*) AS n FROM \`${table}\` WHERE ${where}`, params);
        return Number(rows[0]?.n);
      },
      drop: () => pool.end(),
    };
    removeAtExit('volume', VOLUME);
    const pair = await pki.client('AA:BB:CC:00:13:01');
    device = deviceClient(broker, { ...pair, caFile: pki.caFile }, { reconnectPeriod: 500 });
    await waitFor('device connected', () => device.connected, 15_000);
  }, SETUP_TIMEOUT_MS);

  // A failed test leaves its container running: it must not hold the journal for the next one.
  afterEach(async () => {
    for (const name of running) await run('docker', ['rm', '--force', name]);
    running.clear();
  });

  afterAll(async () => {
    device?.end(true);
    await db?.drop();
    await admin?.end();
    await broker?.stop();
    await mariadb?.destroy();
  });

  it('migrates an empty database and creates the bridge account with its one-shot commands', async () => {
    const dbEnv = { DB_HOST: '127.0.0.1', DB_PORT: String(mariadb.port), DB_NAME: dbName };
    const migrated = await oneShot('migrate', { ...dbEnv, DB_USER: 'root', DB_PASSWORD: '' });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    expect(await db.count('capteur')).toBe(3);
    // The web app's part: a serre with two bacs.
    await db.query('INSERT INTO serre (numero) VALUES (1)');
    await db.query('INSERT INTO bac (serre, numero) SELECT id_serre, n FROM serre, (SELECT 1 AS n UNION SELECT 2) AS b WHERE numero = 1');

    const created = await oneShot('create-db-user', { ...dbEnv, DB_USER: bridgeUser, DB_PASSWORD: bridgePassword, DB_ADMIN_USER: 'root', DB_ADMIN_PASSWORD: '' });
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const conn = await mysql.createConnection({ ...mariadb.server, user: bridgeUser, password: bridgePassword, database: dbName });
    // Least privilege: it reads the catalogue, and changes no table's structure.
    const [capteurs] = await conn.query<RowDataPacket[]>('SELECT count(*) AS n FROM capteur');
    expect(Number(capteurs[0]?.n)).toBe(3);
    await expect(conn.query('DROP TABLE mesure')).rejects.toThrow(/DROP command denied/);
    await conn.end();
  });

  it('runs as uid 1001 with a client.key only 1001 may read, lands readings, reports healthy, and exits 0 on docker stop after the flush', async () => {
    const key = statSync(pki.bridge.keyFile);
    expect(`${key.uid}:${key.gid} ${(key.mode & 0o777).toString(8)}`).toBe('1001:1001 600');
    expect(JSON.parse(await inspect(IMAGE, '{{json .Config.Healthcheck.Test}}'))).toEqual(['CMD', 'node', 'dist/cli.js', 'healthcheck']);

    const { name } = await runBridge();
    await waitHealthy(name);
    const pid = await inspect(name, '{{.State.Pid}}');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+1001\s+1001\s+1001\s+1001$/m);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(['node', 'dist/cli.js', 'start', '']);

    const sent = await burst([device], 30, 1);
    const delivery = await waitForDelivery(db, sent, 60_000);
    expect(delivery).toEqual({ expected: 30, rows: 30, lost: 0, duplicated: 0 });

    const stopped = await stopContainer(name);
    expect(stopped.exitCode, stopped.logs).toBe(0);
    expect(stopped.logs).toContain('journal fully written to the database');
  }, TEST_TIMEOUT_MS);

  it('a container re-created on the same /data volume writes the backlog an earlier one left while the database was down, once', async () => {
    const first = await runBridge({ SHUTDOWN_TIMEOUT: '3' });
    await waitHealthy(first.name);
    await mariadb.stop();
    // Acknowledged by the bridge = in its journal on the volume; the database cannot take them.
    const sent = await burst([device], 40, 2);
    let backlog = 0;
    await waitFor(
      '40 readings in the journal',
      async () => (backlog = await metric(first.httpPort, 'parc_bridge_journal_backlog_entries')) >= 40,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; backlog ${backlog}`);
    });
    const stopped = await stopContainer(first.name);
    expect(stopped.exitCode, stopped.logs).toBe(0);
    expect(stopped.logs).toContain('stopped before the journal was fully written');

    await mariadb.start();
    expect((await checkDelivery(db, sent)).rows).toBe(0);
    const second = await runBridge();
    await waitHealthy(second.name);
    const delivery = await waitForDelivery(db, sent, 60_000);
    expect(delivery).toEqual({ expected: 40, rows: 40, lost: 0, duplicated: 0 });
    expect(await metric(second.httpPort, 'parc_bridge_journal_backlog_entries')).toBe(0);
    expect((await stopContainer(second.name)).exitCode).toBe(0);
  }, TEST_TIMEOUT_MS);

  it("makes the PKI with the Compose pki service's command, each key owned by its reader, mode 600", async () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: { pki: { user: string; working_dir: string; command: string[]; volumes: string[] } };
    };
    const pkiService = compose.services.pki;
    // The repository's mosquitto/ folder, copied so that the test writes no certificate into it.
    const mosquittoCopy = path.join(tempDir('parc-image-pki-'), 'mosquitto');
    cpSync(path.join(REPO_ROOT, 'mosquitto'), mosquittoCopy, { recursive: true, filter: (src) => !/(server-certs|client-certs|certs)$/.test(src) });
    const volumes = pkiService.volumes.map((v) => {
      const [host = '', ...rest] = v.split(':');
      const local = host === './mosquitto' ? mosquittoCopy : path.join(REPO_ROOT, host);
      return ['--volume', [local, ...rest].join(':')];
    });
    const made = await run('docker', [
      'run', '--rm', '--user', pkiService.user, '--workdir', pkiService.working_dir,
      ...volumes.flat(), '--env', 'BROKER_LAN_IP=192.168.42.10', IMAGE, ...pkiService.command,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const owner = (file: string) => {
      const st = statSync(path.join(mosquittoCopy, file));
      return `${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`;
    };
    expect(owner('server-certs/server.key')).toBe('1883:1883 600');
    expect(owner('client-certs/client.key')).toBe('1001:1001 600');
    expect(made.stderr).toContain('IP:192.168.42.10');
  });
});
