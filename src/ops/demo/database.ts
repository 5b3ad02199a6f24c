import mysql from 'mysql2/promise';
import type { DbConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createPool, type Pool } from '../../db/pool.js';
import { createLogger } from '../../logger.js';

/**
 * The demo database: created when missing, migrated like any installation, and given the
 * serres and bacs the simulated controllers publish for (the web application's job otherwise).
 * Returns a pool on it, for the demo's progress lines.
 */
export async function prepareDemoDatabase(db: DbConfig, serres: number, bacs: number): Promise<Pool> {
  const server = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, connectTimeout: 10_000 });
  try {
    await server.query('CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4', [db.database]);
  } finally {
    await server.end();
  }
  const pool = createPool(db, 2);
  await migrate(pool, createLogger('warn', 'parc-demo'));
  for (let s = 1; s <= serres; s++) {
    await pool.query('INSERT INTO serre (numero) SELECT ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM serre WHERE numero = ?)', [s, s]);
    for (let b = 1; b <= bacs; b++) {
      await pool.query(
        'INSERT INTO bac (serre, numero) SELECT s.id_serre, ? FROM serre s WHERE s.numero = ? ' +
          'AND NOT EXISTS (SELECT 1 FROM bac b WHERE b.serre = s.id_serre AND b.numero = ?) LIMIT 1',
        [b, s, b],
      );
    }
  }
  return pool;
}

export interface DemoProgress {
  mesure: number;
  errors: number;
  controllersOnline: number;
}

export async function demoProgress(pool: Pool): Promise<DemoProgress> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT (SELECT count(*) FROM mesure) AS mesure, (SELECT count(*) FROM error) AS errors, ' +
      '(SELECT count(*) FROM controleur WHERE status = 1) AS online',
  );
  const row = rows[0];
  return { mesure: Number(row?.mesure ?? 0), errors: Number(row?.errors ?? 0), controllersOnline: Number(row?.online ?? 0) };
}
