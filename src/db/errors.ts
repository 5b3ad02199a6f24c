/**
 * Which MySQL failures are about one row (the row is recorded as DB_INSERT_ERROR and the rest
 * of the batch is written) and which are about the database (the batch is retried later).
 */

/** Server error numbers that refuse a row for good, whatever the retry. */
const ROW_REFUSED = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (e.g. a character the column's charset lacks)
  1406, // ER_DATA_TOO_LONG
  1416, // ER_CANT_CREATE_GEOMETRY_OBJECT
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  1690, // ER_DATA_OUT_OF_RANGE
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
  4025, // ER_CONSTRAINT_FAILED (MariaDB CHECK)
]);

interface MysqlError {
  errno?: number;
  code?: string;
  sqlMessage?: string;
  message?: string;
}

function asMysqlError(err: unknown): MysqlError {
  return typeof err === 'object' && err !== null ? (err as MysqlError) : { message: String(err) };
}

export function isRowRefused(err: unknown): boolean {
  const { errno } = asMysqlError(err);
  return errno !== undefined && ROW_REFUSED.has(errno);
}

/** A short description for logs and French error rows: code and server message, no SQL text. */
export function describeDbError(err: unknown): string {
  const e = asMysqlError(err);
  const code = e.code ?? (e.errno !== undefined ? String(e.errno) : 'ERREUR');
  const text = e.sqlMessage ?? e.message ?? '';
  return text ? `${code} : ${text}` : code;
}
