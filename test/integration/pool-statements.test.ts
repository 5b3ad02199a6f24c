/**
 * Several statements in one query are possible on the bridge's writer pool only (the batch writer
 * needs them); the other pools and doctor's connection send one statement per query. Against the
 * real MariaDB, as the bridge's least-privilege account.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DbConfig } from '../../src/config.js';
import { createPool, createWriterPool } from '../../src/db/pool.js';
import { connectDb } from '../../src/ops/doctor/db-checks.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const TWO_STATEMENTS = 'SELECT COUNT(*) AS n FROM mesure; SELECT COUNT(*) AS n FROM error';

let db: TestDatabase;
let config: DbConfig;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = db.env();
  config = { host: env.DB_HOST!, port: Number(env.DB_PORT), database: env.DB_NAME!, user: env.DB_USER!, password: env.DB_PASSWORD!, retryDelayMs: 1000 };
});

afterAll(async () => {
  await db?.drop();
});

it('the writer pool runs two statements in one query', async () => {
  const pool = createWriterPool(config, 15_000, 1);
  try {
    const [results] = await pool.query(TWO_STATEMENTS);
    expect(results).toHaveLength(2);
  } finally {
    await pool.end();
  }
});

it('every other pool and doctor refuse a second statement in one query', async () => {
  const pool = createPool(config, 1);
  const doctor = await connectDb(config, 5_000);
  try {
    for (const connection of [pool, doctor]) {
      await expect(connection.query(TWO_STATEMENTS)).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' });
      // One statement at a time still works.
      await expect(connection.query('SELECT COUNT(*) AS n FROM mesure')).resolves.toBeDefined();
    }
  } finally {
    await pool.end();
    await doctor.end();
  }
});
