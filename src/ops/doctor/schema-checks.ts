import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { LARGEST_ERROR_ROW_PACKET_BYTES } from '../../db/batch-writer.js';
import { GRANTS } from '../../db/create-user.js';
import { SHIPPED_CAPTEURS } from '../../db/schema.js';
import { ERROR_TYPES } from '../../decode/types.js';
import { MESSAGE_MAX_CHARS, VALEUR_MAX_CHARS } from '../../decode/valeur.js';
import { errorText, fail, ok, warn, withTimeout, type CheckResult } from './check.js';

/**
 * The web app's schema as the bridge writes into it: what would make MySQL refuse (or, outside
 * strict mode, silently cut) the rows it inserts. The database-schema check says whether the
 * columns exist; these say whether a write into them works.
 */

export const REQUIRED_VALUES_LABEL = 'Columns without a value from the bridge';
export const COLUMN_TYPES_LABEL = 'Column types and sizes';
export const GRANTS_LABEL = 'Privileges of DB_USER';
export const PACKET_LABEL = 'max_allowed_packet';
export const CAPTEUR_TYPES_LABEL = 'capteur.type and the payload keys';
/** Every line of checkWebAppSchema, in its order. */
export const WEB_APP_SCHEMA_LABELS = [REQUIRED_VALUES_LABEL, COLUMN_TYPES_LABEL, GRANTS_LABEL, PACKET_LABEL, CAPTEUR_TYPES_LABEL];

/** The columns each INSERT of the bridge fills; any other NOT NULL column needs a default. */
const WRITTEN_COLUMNS: Record<string, string[]> = {
  mesure: ['bac', 'capteur', 'value', 'mesure_a'],
  error: ['type_erreur', 'message', 'valeur', 'erreur_a'],
  controleur: ['id_controleur', 'ip', 'status'],
};

/** Longest IPv6 address in text (with an embedded IPv4), and the longest IPv4. */
const IPV6_CHARS = 45;
const IPV4_CHARS = 15;
const MAC_CHARS = 17;

/** Under this, batches are cut into many small statements: slower, still complete. */
const COMFORTABLE_PACKET_BYTES = 1024 * 1024;

export interface ColumnInfo {
  table: string;
  column: string;
  nullable: boolean;
  /** The column's default as information_schema shows it; null when it has none. */
  defaultValue: string | null;
  extra: string;
  dataType: string;
  charMax: number | null;
  octetMax: number | null;
  precision: number | null;
  scale: number | null;
  charset: string | null;
}

const MAX_BYTES_PER_CHAR: Record<string, number> = { utf8mb4: 4, utf8mb3: 3, utf8: 3, utf16: 4, utf16le: 4, utf32: 4, ucs2: 2 };

/** Characters a text column holds whatever they are. */
export function textCapacity(c: ColumnInfo): number {
  const bytesPerChar = MAX_BYTES_PER_CHAR[c.charset ?? ''] ?? 1;
  return Math.min(c.charMax ?? 0, Math.floor((c.octetMax ?? 0) / bytesPerChar));
}

/** Strict mode refuses what does not fit; without it, MySQL stores a cut or made-up value and warns. */
const severity = (strict: boolean) => (strict ? fail : warn);

export function requiredValuesResult(columns: ColumnInfo[], strict: boolean): CheckResult {
  const missing = columns.filter(
    (c) =>
      WRITTEN_COLUMNS[c.table] !== undefined &&
      !WRITTEN_COLUMNS[c.table]!.includes(c.column.toLowerCase()) &&
      !c.nullable &&
      c.defaultValue === null &&
      !/auto_increment|generated/i.test(c.extra),
  );
  if (missing.length === 0) return ok(REQUIRED_VALUES_LABEL, 'every other column of mesure, error and controleur has a default or allows NULL');
  const names = missing.map((c) => `${c.table}.${c.column}`).join(', ');
  return severity(strict)(
    REQUIRED_VALUES_LABEL,
    `${names}: NOT NULL without a default, and the bridge gives no value${strict ? ': every INSERT there is refused (1364)' : ' (not strict mode: MySQL stores an implicit value)'}`,
    `give each a default (e.g. ALTER TABLE ${missing[0]!.table} MODIFY ${missing[0]!.column} … DEFAULT …) or allow NULL`,
  );
}

function textProblem(c: ColumnInfo, needed: number, what: string): string | undefined {
  if (c.charMax === null) return undefined; // not a text column: MySQL converts the value
  const capacity = textCapacity(c);
  return capacity < needed ? `${c.table}.${c.column} holds ${capacity} characters, ${what} takes up to ${needed}` : undefined;
}

function numberProblem(c: ColumnInfo, largestBound: number): string | undefined {
  const type = c.dataType.toLowerCase();
  if (['float', 'double', 'real'].includes(type)) return undefined;
  if (type === 'decimal') {
    const digits = (c.precision ?? 10) - (c.scale ?? 0);
    if (10 ** digits <= largestBound) return `${c.table}.${c.column} is DECIMAL(${c.precision},${c.scale}): no room for ${largestBound}, a bound of capteur`;
    if ((c.scale ?? 0) < 1) return `${c.table}.${c.column} is DECIMAL(${c.precision},0): readings lose their decimals`;
    return undefined;
  }
  if (/int$/.test(type)) return `${c.table}.${c.column} is ${type.toUpperCase()}: readings lose their decimals`;
  return `${c.table}.${c.column} is ${type.toUpperCase()}, not a number type (FLOAT, DOUBLE or DECIMAL)`;
}

export function columnTypesResult(columns: ColumnInfo[], strict: boolean, largestBound: number): CheckResult {
  const find = (table: string, column: string) => columns.find((c) => c.table === table && c.column.toLowerCase() === column);
  const longestType = Math.max(...ERROR_TYPES.map((t) => t.length));
  const problems: string[] = [];
  const cut: string[] = [];
  const check = (table: string, column: string, test: (c: ColumnInfo) => string | undefined, list = problems) => {
    const c = find(table, column);
    const problem = c && test(c);
    if (problem) list.push(problem);
  };
  check('mesure', 'value', (c) => numberProblem(c, largestBound));
  check('error', 'type_erreur', (c) => textProblem(c, longestType, 'an error type'));
  check('error', 'message', (c) => textProblem(c, MESSAGE_MAX_CHARS, 'a message'));
  check('error', 'valeur', (c) => textProblem(c, VALEUR_MAX_CHARS, 'a raw value'));
  check('controleur', 'id_controleur', (c) => textProblem(c, MAC_CHARS, 'a MAC address'));
  // An IPv6 address only matters for a controller on an IPv6 network: a warning of its own.
  check('controleur', 'ip', (c) => textProblem(c, IPV4_CHARS, 'an IPv4 address') ?? textProblem(c, IPV6_CHARS, 'an IPv6 address'), cut);
  if (cut.some((p) => p.includes('IPv4'))) problems.push(...cut.splice(0));
  if (problems.length === 0 && cut.length === 0) return ok(COLUMN_TYPES_LABEL, 'every value the bridge writes fits its column');
  if (problems.length === 0) return warn(COLUMN_TYPES_LABEL, cut.join('; '), 'widen the column (VARCHAR(45) holds any IP address)');
  return severity(strict)(
    COLUMN_TYPES_LABEL,
    `${[...problems, ...cut].join('; ')}${strict ? ': such rows are refused (DB_INSERT_ERROR)' : ': MySQL cuts such values (not strict mode)'}`,
    'widen the columns as in src/db/schema.ts (FLOAT for mesure.value, TEXT for error.message and error.valeur, VARCHAR(45) for controleur.ip)',
  );
}

export function packetResult(maxAllowedPacket: number): CheckResult {
  const size = `${maxAllowedPacket} bytes`;
  if (maxAllowedPacket < LARGEST_ERROR_ROW_PACKET_BYTES) {
    // The writer still writes everything (small-packet.test.ts): it cuts such rows to fit.
    return warn(PACKET_LABEL, `${size}: the largest error rows (about ${LARGEST_ERROR_ROW_PACKET_BYTES} bytes) do not fit in one statement and are written shortened`, 'raise it: SET GLOBAL max_allowed_packet = 16777216 (and in the server configuration)');
  }
  if (maxAllowedPacket < COMFORTABLE_PACKET_BYTES) {
    return warn(PACKET_LABEL, `${size}: batches are cut into many small statements, which slows writing down`, 'raise it to 4 MiB or more (SET GLOBAL max_allowed_packet = 16777216, and in the server configuration)');
  }
  return ok(PACKET_LABEL, `${size}: a batch fits in few statements`);
}

/** A shipped payload key whose `capteur` row differs only by case or spaces: never matched (the comparison is exact). */
export function capteurTypesResult(types: string[]): CheckResult {
  const exact = new Set(types);
  const problems: string[] = [];
  for (const { type } of SHIPPED_CAPTEURS) {
    if (exact.has(type)) continue;
    const near = types.find((t) => t.trim().toLowerCase() === type.toLowerCase());
    if (near !== undefined) problems.push(`capteur.type '${near}' is not the payload key '${type}'`);
  }
  if (problems.length === 0) return ok(CAPTEUR_TYPES_LABEL, `${types.length} capteur type(s); none differs from a payload key only by case`);
  return fail(
    CAPTEUR_TYPES_LABEL,
    `${problems.join('; ')}: the bridge compares them exactly, so these readings become UNKNOWN_SENSOR errors`,
    "set capteur.type to the key the devices send (e.g. UPDATE capteur SET type = 'humiditeSol' WHERE type = 'HumiditeSol')",
  );
}

/** Each privilege the bridge needs, tried with EXPLAIN: it needs the privilege and changes nothing. */
function privilegeProbe(privilege: string, table: string, firstColumn: string): [string, unknown[]] {
  switch (privilege) {
    case 'SELECT':
      return ['EXPLAIN SELECT 1 FROM ?? LIMIT 0', [table]];
    case 'INSERT':
      return ['EXPLAIN INSERT INTO ?? (??) VALUES (NULL)', [table, firstColumn]];
    case 'UPDATE':
      return ['EXPLAIN UPDATE ?? SET ?? = ?? WHERE 1 = 0', [table, firstColumn, firstColumn]];
    default:
      return ['EXPLAIN DELETE FROM ?? WHERE 1 = 0', [table]];
  }
}

async function grantsResult(connection: mysql.Connection, columns: ColumnInfo[], timeoutMs: number): Promise<CheckResult> {
  const missing: string[] = [];
  for (const [privileges, table] of GRANTS) {
    const column = columns.find((c) => c.table === table)?.column;
    if (column === undefined) continue; // a missing table: the schema check reports it
    for (const privilege of privileges.split(',').map((p) => p.trim())) {
      const [sql, values] = privilegeProbe(privilege, table, column);
      try {
        await withTimeout(connection.query(sql, values), timeoutMs);
      } catch (err) {
        const errno = (err as { errno?: unknown }).errno;
        if (errno === 1142 || errno === 1143) missing.push(`${privilege} on ${table}`);
        else throw err;
      }
    }
  }
  if (missing.length === 0) return ok(GRANTS_LABEL, 'every privilege the bridge needs is granted');
  return fail(
    GRANTS_LABEL,
    `missing ${missing.join(', ')}: those writes are refused (1142) and the bridge holds its journal until they are granted`,
    'run `npm run create-db-user` as an administrator (DB_ADMIN_USER), or GRANT them to DB_USER',
  );
}

async function readColumns(connection: mysql.Connection, timeoutMs: number): Promise<ColumnInfo[]> {
  const [rows] = await withTimeout(
    connection.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS d, EXTRA AS extra, DATA_TYPE AS type, ' +
        'CHARACTER_MAXIMUM_LENGTH AS charMax, CHARACTER_OCTET_LENGTH AS octetMax, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS s, CHARACTER_SET_NAME AS cs ' +
        'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION',
    ),
    timeoutMs,
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    table: String(r.t),
    column: String(r.c),
    nullable: r.nullable === 'YES',
    defaultValue: r.d === null || r.d === undefined ? null : String(r.d),
    extra: String(r.extra ?? ''),
    dataType: String(r.type),
    charMax: num(r.charMax),
    octetMax: num(r.octetMax),
    precision: num(r.p),
    scale: num(r.s),
    charset: r.cs === null || r.cs === undefined ? null : String(r.cs),
  }));
}

/** Every check of the web app's schema, one line each; a check that cannot run is a warning. */
export async function checkWebAppSchema(connection: mysql.Connection, timeoutMs: number): Promise<CheckResult[]> {
  try {
    const columns = await readColumns(connection, timeoutMs);
    const [[settings]] = await withTimeout(connection.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode, @@max_allowed_packet AS packet'), timeoutMs);
    const strict = /STRICT_(TRANS|ALL)_TABLES/.test(String(settings!.mode));
    const capteurs = columns.some((c) => c.table === 'capteur')
      ? (await withTimeout(connection.query<RowDataPacket[]>('SELECT type, valeurMinCapteur AS lo, valeurMaxCapteur AS hi FROM capteur'), timeoutMs))[0]
      : [];
    const largestBound = Math.max(0, ...capteurs.flatMap((r) => [r.lo, r.hi]).filter((v) => v !== null).map((v) => Math.abs(Number(v))));
    return [
      requiredValuesResult(columns, strict),
      columnTypesResult(columns, strict, largestBound),
      await grantsResult(connection, columns, timeoutMs),
      packetResult(Number(settings!.packet)),
      capteurTypesResult(capteurs.map((r) => String(r.type))),
    ];
  } catch (err) {
    return [warn(COLUMN_TYPES_LABEL, `cannot read the web app's schema: ${errorText(err)}`, 'check that DB_USER may read information_schema of DB_NAME')];
  }
}
