/**
 * A central bridge's world for tests of the school dimension (docs/schools.md): one throwaway
 * database per school on the local MariaDB, named from one DB_NAME template, with the project's
 * schema, a few serres and bacs each, and one least-privilege bridge account made by the
 * project's own `create-db-user` code for schools; a central Mosquitto from the shipped config
 * whose ACL lets the schools' brokers publish under ecole/<id>/ and the bridge read it.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import type { IClientOptions, MqttClient } from 'mqtt';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import { createSchoolsBridgeUser } from '../../src/schools/school-commands.js';
import { schoolDatabase } from '../../src/schools/school-ids.js';
import { deviceClient, startBroker, type Broker } from './broker.js';
import { tempDir } from './cleanup.js';
import { LOCAL_MARIADB, type TestDatabase } from './database.js';
import { makePki, type Pki } from './pki.js';
import { waitFor } from './wait.js';

const quietLog = createLogger('error');

export interface SchoolDatabases {
  /** DB_NAME, with {ecole}. */
  template: string;
  user: string;
  password: string;
  /** One school's database, for the checks (readings.ts works on it). */
  of(ecole: string): TestDatabase;
  /** DB_* and SCHOOLS for a bridge serving `schools` (all of them by default). */
  env(schools?: readonly string[]): Record<string, string>;
  admin: mysql.Pool;
  drop(): Promise<void>;
}

export interface SchoolDatabasesOptions {
  serres?: number;
  bacsPerSerre?: number;
  /** Databases made at once (a bench makes hundreds). */
  concurrency?: number;
}

export async function createSchoolDatabases(schools: readonly string[], opts: SchoolDatabasesOptions = {}): Promise<SchoolDatabases> {
  const suffix = randomBytes(4).toString('hex');
  const template = `parc_t${suffix}_{ecole}`;
  const user = `pbs_${suffix}`;
  const password = randomBytes(12).toString('base64url');
  const server = LOCAL_MARIADB;
  const connection = { host: server.host, port: server.port, user: server.user, password: server.password, charset: 'utf8mb4', dateStrings: true };
  const admin = mysql.createPool({ ...connection, connectionLimit: 2 });
  const pools = new Map<string, mysql.Pool>();
  const poolOf = (ecole: string) => {
    let pool = pools.get(ecole);
    if (!pool) pools.set(ecole, (pool = mysql.createPool({ ...connection, database: schoolDatabase(template, ecole), connectionLimit: 1, maxIdle: 0 })));
    return pool;
  };
  const make = async (ecole: string) => {
    await admin.query('CREATE DATABASE ?? CHARACTER SET utf8mb4', [schoolDatabase(template, ecole)]);
    const pool = poolOf(ecole);
    await migrate(pool, quietLog);
    for (let s = 1; s <= (opts.serres ?? 2); s++) {
      const [res] = await pool.query<mysql.ResultSetHeader>('INSERT INTO serre (numero) VALUES (?)', [s]);
      for (let b = 1; b <= (opts.bacsPerSerre ?? 3); b++) await pool.query('INSERT INTO bac (serre, numero) VALUES (?, ?)', [res.insertId, b]);
    }
  };
  const queue = [...schools];
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 1 }, async () => {
      for (let ecole = queue.shift(); ecole !== undefined; ecole = queue.shift()) await make(ecole);
    }),
  );
  if ((await createSchoolsBridgeUser(admin, { user, password, host: '%' }, template, schools, quietLog)) !== 0) throw new Error('create-db-user failed for a school');
  for (const pool of pools.values()) await pool.end();
  pools.clear();

  const env = (served: readonly string[] = schools) => ({
    DB_HOST: server.host,
    DB_PORT: String(server.port),
    DB_NAME: template,
    DB_USER: user,
    DB_PASSWORD: password,
    SCHOOLS: served.join(','),
  });
  return {
    template,
    user,
    password,
    admin,
    env,
    of(ecole) {
      const name = schoolDatabase(template, ecole);
      const pool = poolOf(ecole);
      return {
        server,
        name,
        bridgeUser: user,
        bridgePassword: password,
        env: () => ({ ...env([ecole]), DB_NAME: name, SCHOOLS: '' }),
        async query<T extends RowDataPacket[]>(sql: string, params: unknown[] = []) {
          const [rows] = await pool.query<T>(sql, params);
          return rows;
        },
        async count(table, where = '1', params = []) {
          const [rows] = await pool.query<RowDataPacket[]>(`SELECT count(*) AS n FROM \`${table}\` WHERE ${where}`, params);
          return Number(rows[0]!.n);
        },
        drop: async () => undefined,
      };
    },
    async drop() {
      for (const pool of pools.values()) await pool.end().catch(() => undefined);
      for (const ecole of schools) await admin.query('DROP DATABASE IF EXISTS ??', [schoolDatabase(template, ecole)]).catch(() => undefined);
      await admin.query('DROP USER IF EXISTS ?@?', [user, '%']).catch(() => undefined);
      await admin.end();
    },
  };
}

/**
 * The central broker's ACL for these tests: any client of the CA may publish under any school's
 * prefix (the schools' brokers; the per-school identities are deploy/site-broker's), the bridge
 * reads every school's topics. The un-prefixed topics are nobody's here.
 */
export const CENTRAL_TEST_ACL = `
pattern write ecole/+/serre/+/bac/+
pattern write ecole/+/controleur/+
pattern write ecole/+/controleur/+/disconnect
user mqtt-bridge
topic read ecole/+/serre/+/bac/+
topic read ecole/+/controleur/+
topic read ecole/+/controleur/+/disconnect
topic readwrite parc-bridge/doctor/#
`;

export interface CentralBroker {
  pki: Pki;
  broker: Broker;
  /** A connected mTLS client standing for a school's broker (CN `name`). */
  publisher(name: string, opts?: IClientOptions): Promise<MqttClient>;
  /** MQTT_* for the bridge, with its own client id. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startCentralBroker(): Promise<CentralBroker> {
  const pki = await makePki();
  const aclFile = path.join(tempDir('parc-central-acl-'), 'acl');
  writeFileSync(aclFile, CENTRAL_TEST_ACL);
  const broker = await startBroker(pki, { acl: { file: aclFile } });
  const clients: MqttClient[] = [];
  const clientId = `parc-central-${randomBytes(3).toString('hex')}`;
  return {
    pki,
    broker,
    async publisher(name, opts = {}) {
      const pair = await pki.client(name);
      const client = deviceClient(broker, { ...pair, caFile: pki.caFile }, { reconnectPeriod: 500, ...opts });
      clients.push(client);
      await waitFor(`publisher ${name} connected`, () => client.connected, 15_000);
      return client;
    },
    env: () => ({
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.port),
      MQTT_CA_FILE: pki.caFile,
      MQTT_CERT_FILE: pki.bridge.certFile,
      MQTT_KEY_FILE: pki.bridge.keyFile,
      MQTT_CLIENT_ID: clientId,
    }),
    async close() {
      for (const client of clients) client.end(true);
      await broker.stop().catch(() => undefined);
    },
  };
}
