/**
 * Throwaway databases on a real MariaDB: the machine's own (127.0.0.1:3306, root) by default,
 * or a private server (private-mariadb.ts). Each gets the project's schema, a few serres and
 * bacs, and a least-privilege bridge account made by the project's own code.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { createBridgeUser } from '../../src/db/create-user.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';

export interface DbServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const LOCAL_MARIADB: DbServer = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export interface TestDatabase {
  server: DbServer;
  name: string;
  bridgeUser: string;
  bridgePassword: string;
  /** DB_* variables for the bridge, as its least-privilege account. */
  env(): Record<string, string>;
  query<T extends RowDataPacket[]>(sql: string, params?: unknown[]): Promise<T>;
  count(table: string, where?: string, params?: unknown[]): Promise<number>;
  drop(): Promise<void>;
}

const quietLog = createLogger('error');

export interface TestDatabaseOptions {
  serres?: number;
  bacsPerSerre?: number;
}

export async function createTestDatabase(server: DbServer = LOCAL_MARIADB, opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const suffix = randomBytes(4).toString('hex');
  const name = `parc_test_${suffix}`;
  const bridgeUser = `pb_${suffix}`;
  const bridgePassword = randomBytes(12).toString('base64url');
  const admin = mysql.createPool({ host: server.host, port: server.port, user: server.user, password: server.password, connectionLimit: 2, charset: 'utf8mb4', dateStrings: true });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const pool = mysql.createPool({ host: server.host, port: server.port, user: server.user, password: server.password, database: name, connectionLimit: 2, charset: 'utf8mb4', dateStrings: true });
  await migrate(pool, quietLog);
  for (let s = 1; s <= (opts.serres ?? 3); s++) {
    const [res] = await pool.query<mysql.ResultSetHeader>('INSERT INTO serre (numero) VALUES (?)', [s]);
    for (let b = 1; b <= (opts.bacsPerSerre ?? 4); b++) {
      await pool.query('INSERT INTO bac (serre, numero) VALUES (?, ?)', [res.insertId, b]);
    }
  }
  await createBridgeUser(admin, { user: bridgeUser, password: bridgePassword, host: '%', database: name }, quietLog);

  return {
    server,
    name,
    bridgeUser,
    bridgePassword,
    env: () => ({
      DB_HOST: server.host,
      DB_PORT: String(server.port),
      DB_NAME: name,
      DB_USER: bridgeUser,
      DB_PASSWORD: bridgePassword,
    }),
    async query<T extends RowDataPacket[]>(sql: string, params: unknown[] = []) {
      const [rows] = await pool.query<T>(sql, params);
      return rows;
    },
    async count(table, where = '1', params = []) {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT count(*) AS n FROM \`${table}\` WHERE ${where}`, params);
      return Number(rows[0]!.n);
    },
    async drop() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
      await admin.query('DROP USER IF EXISTS ?@?', [bridgeUser, '%']).catch(() => undefined);
      await admin.end();
    },
  };
}
