import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import type { DbConfig } from '../../config.js';
import { REQUIRED_COLUMNS } from '../../db/schema.js';
import { errorText, fail, ok, withTimeout, type CheckResult } from './check.js';

/** The database side of the doctor: can the bridge's account log in, and does it see its tables. */

export const DB_LABEL = 'Database connection';
export const SCHEMA_LABEL = 'Database schema';

/** Who we talk to, without the password. */
export function dbTarget(db: DbConfig): string {
  return `${db.host}:${db.port} as ${db.user}, database ${db.database}`;
}

function dbFix(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
      return 'check DB_USER and DB_PASSWORD, and that the account may connect from this host (npm run create-db-user makes it)';
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_BAD_DB_ERROR':
      return 'check DB_NAME; the database must exist and DB_USER needs grants on it (npm run create-db-user)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'DB_HOST does not resolve: check its spelling or DNS';
    default:
      return 'check DB_HOST and DB_PORT, and that MySQL/MariaDB runs and accepts connections from this machine';
  }
}

export async function connectDb(db: DbConfig, timeoutMs: number): Promise<mysql.Connection> {
  const pending = mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    connectTimeout: timeoutMs,
    charset: 'utf8mb4',
  });
  // A connection that arrives after the deadline must not keep the process alive.
  return withTimeout(pending, timeoutMs, () => void pending.then((c) => c.destroy(), () => undefined));
}

export async function checkDbConnection(db: DbConfig, timeoutMs: number): Promise<{ result: CheckResult; connection?: mysql.Connection }> {
  try {
    const connection = await connectDb(db, timeoutMs);
    const [rows] = await withTimeout(connection.query<RowDataPacket[]>('SELECT VERSION() AS version'), timeoutMs);
    return { result: ok(DB_LABEL, `connected to ${dbTarget(db)} (server ${String(rows[0]?.version)})`), connection };
  } catch (err) {
    return { result: fail(DB_LABEL, `cannot connect to ${dbTarget(db)}: ${errorText(err)}`, dbFix(err)) };
  }
}

export interface MissingSchema {
  tables: string[];
  /** "table.column" of tables that exist. */
  columns: string[];
}

/**
 * Compares what the account sees with what the bridge needs. Table names are compared exactly
 * (MySQL on Linux is case-sensitive for them), column names without case (MySQL never is).
 */
export function missingSchema(required: Record<string, string[]>, present: Array<{ table: string; column: string }>): MissingSchema {
  const seen = new Map<string, Set<string>>();
  for (const { table, column } of present) {
    let columns = seen.get(table);
    if (!columns) seen.set(table, (columns = new Set()));
    columns.add(column.toLowerCase());
  }
  const tables: string[] = [];
  const columns: string[] = [];
  for (const [table, needed] of Object.entries(required)) {
    const have = seen.get(table);
    if (!have) tables.push(table);
    else for (const column of needed) if (!have.has(column.toLowerCase())) columns.push(`${table}.${column}`);
  }
  return { tables, columns };
}

export function schemaResult(missing: MissingSchema, required: Record<string, string[]>): CheckResult {
  if (missing.tables.length === 0 && missing.columns.length === 0) {
    const columns = Object.values(required).reduce((n, c) => n + c.length, 0);
    return ok(SCHEMA_LABEL, `all ${Object.keys(required).length} tables and ${columns} columns the bridge uses are there`);
  }
  const parts: string[] = [];
  if (missing.tables.length > 0) parts.push(`missing table(s) ${missing.tables.join(', ')}`);
  if (missing.columns.length > 0) parts.push(`missing column(s) ${missing.columns.join(', ')}`);
  const fixes: string[] = [];
  // migrate creates missing tables but, on purpose, never alters a table the web app owns.
  if (missing.tables.length > 0) {
    fixes.push('run `npm run migrate` to create missing tables (if they exist, DB_USER lacks grants on them: `npm run create-db-user`)');
  }
  if (missing.columns.length > 0) fixes.push('add the missing columns as defined in src/db/schema.ts (`npm run migrate` does not alter existing tables)');
  return { status: 'fail', label: SCHEMA_LABEL, detail: parts.join('; '), fix: fixes.join('; ') };
}

export async function checkSchema(connection: mysql.Connection, timeoutMs: number): Promise<CheckResult> {
  try {
    // information_schema lists only what this account has privileges on: the bridge's view.
    const [rows] = await withTimeout(
      connection.query<RowDataPacket[]>(
        'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()',
      ),
      timeoutMs,
    );
    const present = rows.map((r) => ({ table: String(r.t), column: String(r.c) }));
    return schemaResult(missingSchema(REQUIRED_COLUMNS, present), REQUIRED_COLUMNS);
  } catch (err) {
    return fail(SCHEMA_LABEL, `cannot read the schema: ${errorText(err)}`, 'check that DB_USER may read information_schema of DB_NAME');
  }
}
