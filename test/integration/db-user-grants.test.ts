/**
 * create-db-user on an account that already exists, as every `up` of the local database runs it
 * while the bridge writes: it never takes away, even between two statements, a privilege the
 * bridge uses (REVOKE ALL then GRANT refused the writes landing in between: one DB_ERROR row per
 * `up`), it ends with exactly the bridge's privileges, and a second run changes nothing.
 * Against the machine's MariaDB; about 2 s.
 */
import type { RowDataPacket } from 'mysql2';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeUser, GRANTS } from '../../src/db/create-user.js';
import type { Pool } from '../../src/db/pool.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const quiet = createLogger('error');

describe('create-db-user on an existing account', () => {
  let db: TestDatabase;
  let admin: mysql.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = mysql.createPool({ ...db.server, connectionLimit: 2 });
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  const account = () => ({ user: db.bridgeUser, password: db.bridgePassword, host: '%', database: db.name });
  const grantee = () => `'${db.bridgeUser}'@'%'`;

  /** "table PRIVILEGE" for every privilege the account holds on a table of its database, sorted. */
  async function tablePrivileges(): Promise<string[]> {
    const [rows] = await admin.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
      [grantee(), db.name],
    );
    return rows.map((r) => `${r.t} ${r.p}`).sort();
  }

  /** Privileges held anywhere else: global (besides USAGE), on a database, on a column, or with GRANT OPTION. */
  async function beyondTables(): Promise<string[]> {
    const [rows] = await admin.query<RowDataPacket[]>(
      "SELECT CONCAT('global ', PRIVILEGE_TYPE) AS x FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ? AND (PRIVILEGE_TYPE <> 'USAGE' OR IS_GRANTABLE = 'YES') " +
        "UNION ALL SELECT CONCAT('schema ', TABLE_SCHEMA, ' ', PRIVILEGE_TYPE) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? " +
        "UNION ALL SELECT CONCAT('column ', TABLE_NAME, '.', COLUMN_NAME, ' ', PRIVILEGE_TYPE) FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ? " +
        "UNION ALL SELECT CONCAT('grantable ', TABLE_NAME, ' ', PRIVILEGE_TYPE) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND IS_GRANTABLE = 'YES'",
      [grantee(), grantee(), grantee(), grantee()],
    );
    return rows.map((r) => String(r.x)).sort();
  }

  const bridgePrivileges = GRANTS.flatMap(([privileges, table]) => privileges.split(', ').map((p) => `${table} ${p}`)).sort();

  /** What the account may do right now on each table, whatever the level that allows it. */
  async function effective(): Promise<Set<string>> {
    const [rows] = await admin.query<RowDataPacket[]>(
      'SELECT NULL AS t, PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ? ' +
        'UNION ALL SELECT NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ? ' +
        'UNION ALL SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
      [grantee(), grantee(), db.name, grantee(), db.name],
    );
    const allowed = new Set<string>();
    for (const wanted of bridgePrivileges) {
      const [table, privilege] = wanted.split(' ');
      if (rows.some((r) => r.p === privilege && (r.t === null || r.t === table))) allowed.add(wanted);
    }
    return allowed;
  }

  /** The admin pool, checking after each statement that the account still may do all it needs. */
  function watchedAdmin(statements: string[], lost: string[]): Pool {
    return new Proxy(admin, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return async (sql: string, values?: unknown[]) => {
          const result = await target.query(sql, values);
          statements.push(sql.split(' ')[0] ?? '');
          const now = await effective();
          for (const needed of bridgePrivileges) if (!now.has(needed)) lost.push(`${needed} after ${sql}`);
          return result;
        };
      },
    });
  }

  it('makes the bridge privileges exactly, on a new account', async () => {
    expect(await tablePrivileges()).toEqual(bridgePrivileges);
    expect(await beyondTables()).toEqual([]);
  });

  it('brings an account holding more to exactly the bridge privileges, never taking away one it uses', async () => {
    const who = [db.bridgeUser, '%'];
    await admin.query('GRANT ALL ON ??.* TO ?@?', [db.name, ...who]);
    await admin.query('GRANT SELECT ON *.* TO ?@?', who);
    await admin.query('GRANT INSERT, DELETE ON ??.mesure TO ?@? WITH GRANT OPTION', [db.name, ...who]);
    await admin.query('GRANT UPDATE (value) ON ??.mesure TO ?@?', [db.name, ...who]);
    await admin.query('REVOKE SELECT ON ??.serre FROM ?@?', [db.name, ...who]);
    expect(await beyondTables()).not.toEqual([]);

    const statements: string[] = [];
    const lost: string[] = [];
    await createBridgeUser(watchedAdmin(statements, lost), account(), quiet);
    expect(lost).toEqual([]);
    expect(statements).toContain('GRANT');
    expect(statements).toContain('REVOKE');
    expect(await tablePrivileges()).toEqual(bridgePrivileges);
    expect(await beyondTables()).toEqual([]);
  });

  it('changes no privilege when the account already has exactly them', async () => {
    const statements: string[] = [];
    const lost: string[] = [];
    await createBridgeUser(watchedAdmin(statements, lost), account(), quiet);
    expect(lost).toEqual([]);
    expect(statements.filter((s) => s === 'GRANT' || s === 'REVOKE')).toEqual([]);
    expect(await tablePrivileges()).toEqual(bridgePrivileges);

    // The password of .env is the truth: it still logs in with it.
    const conn = await mysql.createConnection({ ...db.server, user: db.bridgeUser, password: db.bridgePassword, database: db.name });
    await conn.query("INSERT INTO error (type_erreur, message, erreur_a) VALUES ('TEST', 'test', NOW())");
    await conn.end();
  });
});
