/**
 * What a MySQL failure means for the batch being written, so that the drain does the one thing
 * that helps: skip a row, try again at once, wait for the server, or wait for an operator.
 */

/**
 * - `row`: the database refuses this row for good (a constraint, a value, a trigger): it is
 *   recorded as DB_INSERT_ERROR and the rest of the batch is written.
 * - `conflict`: a deadlock or a lock wait timeout: the transaction is tried again at once.
 * - `packet`: the statement is larger than the server's max_allowed_packet: written in smaller
 *   statements.
 * - `setup`: will fail for every entry until someone fixes the database (a grant, a missing
 *   table or column, a read-only server): the journal is held and the log says what to fix.
 * - `connection`: the server is unreachable, gone or too slow: wait and try again.
 */
export type DbFailureKind = 'row' | 'conflict' | 'packet' | 'setup' | 'connection';

export interface SetupFix {
  en: string;
  fr: string;
}

const ROW_REFUSED = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED (strict mode)
  1292, // ER_TRUNCATED_WRONG_VALUE
  1364, // ER_NO_DEFAULT_FOR_FIELD (a web-app NOT NULL column the bridge does not fill)
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (e.g. a character the column's charset lacks)
  1406, // ER_DATA_TOO_LONG
  1416, // ER_CANT_CREATE_GEOMETRY_OBJECT
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  1644, // ER_SIGNAL_EXCEPTION (a trigger refusing the row)
  1690, // ER_DATA_OUT_OF_RANGE
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
  4025, // ER_CONSTRAINT_FAILED (MariaDB CHECK)
]);

const CONFLICT = new Set([
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
]);

const PACKET_TOO_LARGE = 1153; // ER_NET_PACKET_TOO_LARGE

/**
 * ER_UNKNOWN_COM_ERROR: what a Galera node that is not ready (cut off from the Primary
 * component, joining, drained) answers to every statement on a table. Waited out like an
 * unreachable server: the node takes writes again once it is back in the cluster (behind
 * HAProxy the bridge is moved to a ready node first). Galera's certification failures and
 * brute-force aborts are 1213, a conflict like any deadlock.
 */
const WSREP_NOT_READY = 1047;

/** What the operator must do, by server error number: in English for the log, in French for the status page. */
const SETUP_FIXES: Record<number, SetupFix> = {
  1044: { en: 'the account may not use this database: grant it (npm run create-db-user)', fr: 'autoriser le compte sur cette base (npm run create-db-user)' },
  1045: { en: 'the server refuses DB_USER / DB_PASSWORD: check them', fr: 'vérifier DB_USER et DB_PASSWORD' },
  1049: { en: 'the database DB_NAME does not exist: create it, then npm run migrate', fr: 'créer la base DB_NAME, puis npm run migrate' },
  1054: { en: 'a column the bridge writes is missing: run npm run migrate (or add it to the web app schema)', fr: 'une colonne manque : npm run migrate (ou l’ajouter au schéma de l’application web)' },
  1142: { en: 'the account lacks a grant on a table: grant it (npm run create-db-user lists them)', fr: 'accorder le droit manquant sur la table (npm run create-db-user les donne tous)' },
  1143: { en: 'the account lacks a grant on a column: grant it (npm run create-db-user lists them)', fr: 'accorder le droit manquant sur la colonne (npm run create-db-user les donne tous)' },
  1146: { en: 'a table the bridge writes is missing: run npm run migrate', fr: 'une table manque : npm run migrate' },
  1036: { en: 'a table is read-only: make it writable', fr: 'rendre la table accessible en écriture' },
  1290: {
    en: 'the server is read-only (read_only / super_read_only, or a replica): point DB_HOST at the primary or make it writable',
    fr: 'le serveur est en lecture seule (ou c’est un réplica) : viser le serveur principal avec DB_HOST, ou le rendre accessible en écriture',
  },
  1792: { en: 'the server runs transactions read-only: make it writable', fr: 'le serveur n’accepte que des transactions en lecture : le rendre accessible en écriture' },
  1227: { en: 'the account lacks a privilege the statement needs: grant it', fr: 'accorder au compte le privilège manquant' },
  1370: { en: 'the account lacks a privilege the statement needs: grant it', fr: 'accorder au compte le privilège manquant' },
};

interface MysqlError {
  errno?: number;
  code?: string;
  sqlState?: string;
  sqlMessage?: string;
  message?: string;
  fatal?: boolean;
}

function asMysqlError(err: unknown): MysqlError {
  return typeof err === 'object' && err !== null ? (err as MysqlError) : { message: String(err) };
}

/** 1364 (ER_NO_DEFAULT_FOR_FIELD): a column the bridge does not fill, so every new row meets it. */
export function refusesEveryRow(err: unknown): boolean {
  return asMysqlError(err).errno === 1364;
}

/**
 * A row refusal that every row of `mesure` or `error` would meet: recording each row as refused
 * would throw every reading away, so the journal is held until the schema is fixed. (For
 * `controleur` the same refusal concerns new controllers only: a DB_INSERT_ERROR row each.)
 */
export class SchemaRefusal extends Error {
  readonly errno: number | undefined;
  readonly code: string | undefined;
  readonly sqlMessage: string | undefined;

  constructor(
    cause: unknown,
    readonly table: string,
  ) {
    const e = asMysqlError(cause);
    super(e.sqlMessage ?? e.message ?? String(cause));
    this.name = 'SchemaRefusal';
    this.errno = e.errno;
    this.code = e.code;
    this.sqlMessage = e.sqlMessage;
  }
}

export function classifyDbError(err: unknown): DbFailureKind {
  if (err instanceof SchemaRefusal) return 'setup';
  const { errno, sqlState, fatal } = asMysqlError(err);
  if (errno === PACKET_TOO_LARGE) return 'packet';
  if (errno === undefined || fatal || errno === WSREP_NOT_READY) return 'connection';
  if (ROW_REFUSED.has(errno)) return 'row';
  if (CONFLICT.has(errno)) return 'conflict';
  if (errno in SETUP_FIXES) return 'setup';
  // An error number this list does not know, by its SQLSTATE class: 22 (data exception) and
  // 23 (integrity constraint) are about the row, 42 (access rule, unknown object) about setup.
  if (sqlState?.startsWith('22') || sqlState?.startsWith('23')) return 'row';
  if (sqlState?.startsWith('42')) return 'setup';
  return 'connection';
}

export function isRowRefused(err: unknown): boolean {
  return classifyDbError(err) === 'row';
}

/** For a `setup` failure: what to fix, in one sentence. */
export function setupFix(err: unknown): SetupFix {
  if (err instanceof SchemaRefusal) {
    return {
      en: `table ${err.table} has a NOT NULL column without a default that the bridge does not fill: give it a default or allow NULL`,
      fr: `la table ${err.table} a une colonne NOT NULL sans valeur par défaut que le pont ne remplit pas : lui donner une valeur par défaut ou accepter NULL`,
    };
  }
  const { errno } = asMysqlError(err);
  return (
    (errno !== undefined && SETUP_FIXES[errno]) || {
      en: 'fix the database account or schema named in the error',
      fr: 'corriger le compte ou le schéma de la base nommé dans l’erreur',
    }
  );
}

/** A short description for logs and French error rows: code and server message, no SQL text. */
export function describeDbError(err: unknown): string {
  const e = asMysqlError(err);
  const code = e.code ?? (e.errno !== undefined ? String(e.errno) : 'ERREUR');
  const text = e.sqlMessage ?? e.message ?? '';
  return text ? `${code} : ${text}` : code;
}
