import mysql from 'mysql2/promise';
import type { DbConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createPool, type Pool } from '../../db/pool.js';
import { createLogger } from '../../logger.js';
import { DEMO_MARKER_TABLE, type DemoDatabaseState } from './database-guard.js';

/** A connection to the server, not to a database: the demo's may not exist yet. */
function serverConnection(db: DbConfig): Promise<mysql.Connection> {
  return mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, connectTimeout: 10_000 });
}

/** Whether the database exists, is the demo's own, and how many serres it holds; changes nothing. */
export async function inspectDemoDatabase(db: DbConfig): Promise<DemoDatabaseState> {
  const server = await serverConnection(db);
  try {
    const [tables] = await server.query<mysql.RowDataPacket[]>(
      'SELECT s.SCHEMA_NAME AS db, t.TABLE_NAME AS name FROM information_schema.SCHEMATA s ' +
        'LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME AND t.TABLE_NAME IN (?, ?) ' +
        'WHERE s.SCHEMA_NAME = ?',
      [DEMO_MARKER_TABLE, 'serre', db.database],
    );
    const names = new Set(tables.map((t) => t.name as string | null));
    let serres = 0;
    if (names.has('serre')) {
      const [rows] = await server.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM ??.serre', [db.database]);
      serres = Number(rows[0]?.n ?? 0);
    }
    return { exists: tables.length > 0, marked: names.has(DEMO_MARKER_TABLE), serres };
  } finally {
    await server.end();
  }
}

/**
 * The demo database: created when missing, marked as the demo's when it is (see
 * database-guard.ts), migrated like any installation, and given the serres and bacs the
 * simulated controllers publish for (the web application's job otherwise). Returns a pool on
 * it, for the demo's progress lines.
 */
export async function prepareDemoDatabase(db: DbConfig, serres: number, bacs: number, markAsDemo: boolean): Promise<Pool> {
  const server = await serverConnection(db);
  try {
    await server.query('CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4', [db.database]);
    if (markAsDemo) {
      await server.query(
        `CREATE TABLE IF NOT EXISTS ??.${DEMO_MARKER_TABLE} (made_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ` +
          "COMMENT 'made by npm run demo: this database holds demo data'",
        [db.database],
      );
    }
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
