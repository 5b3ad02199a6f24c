import type { DbConfig } from '../../config.js';
import { schoolDatabase } from '../../schools/school-ids.js';
import { fail, ok, warn, type CheckResult } from './check.js';
import { checkDbConnection, checkSchema } from './db-checks.js';
import { checkWebAppSchema } from './schema-checks.js';

/**
 * A bridge serving several schools (SCHOOLS): the database checks of a single-school bridge, on
 * each school's database, summarised: one line per school with something to fix, one line for
 * the rest. Hundreds of schools would otherwise print thousands of lines.
 */

export const SCHOOLS_LABEL = 'School databases';

export const schoolLabel = (ecole: string) => `School ${ecole}`;

/** Every database check of one school's database, in the single-school doctor's order. */
export async function checkSchoolDatabase(db: DbConfig, timeoutMs: number): Promise<CheckResult[]> {
  const connected = await checkDbConnection(db, timeoutMs);
  const connection = connected.connection;
  if (!connection) return [connected.result];
  try {
    return [connected.result, await checkSchema(connection, timeoutMs), ...(await checkWebAppSchema(connection, timeoutMs))];
  } finally {
    connection.destroy();
  }
}

/** One school's results as one line: the worst status, and what is wrong with what to do. */
export function schoolResult(ecole: string, database: string, results: CheckResult[]): CheckResult {
  const failed = results.filter((r) => r.status === 'fail');
  const warned = results.filter((r) => r.status === 'warn');
  const label = schoolLabel(ecole);
  if (failed.length === 0 && warned.length === 0) return ok(label, `database ${database}: every check passed`);
  const wrong = [...failed, ...warned];
  const detail = `database ${database}: ${wrong.map((r) => `${r.label}: ${r.detail}`).join('; ')}`;
  const fix = [...new Set(wrong.map((r) => r.fix).filter((f): f is string => Boolean(f)))].join('; ');
  return failed.length > 0 ? fail(label, detail, fix) : warn(label, detail, fix);
}

export function schoolsSummary(results: CheckResult[]): CheckResult {
  const clean = results.filter((r) => r.status === 'ok').map((r) => r.label.slice(schoolLabel('').length));
  const failed = results.filter((r) => r.status === 'fail').length;
  const detail = `${clean.length} of ${results.length} school databases pass every check${clean.length > 0 ? ` (${clean.join(', ')})` : ''}`;
  if (failed > 0) return fail(SCHOOLS_LABEL, `${detail}; ${failed} failed (above)`, 'fix each school named above; the bridge writes the others meanwhile');
  return results.length > clean.length ? warn(SCHOOLS_LABEL, `${detail}; see the warnings above`, 'see each school named above') : ok(SCHOOLS_LABEL, detail);
}

/** Each school's line when something is to be fixed, then the summary. */
export async function checkSchoolDatabases(db: DbConfig, schools: readonly string[], timeoutMs: number): Promise<CheckResult[]> {
  const perSchool: CheckResult[] = [];
  for (const ecole of schools) {
    const database = schoolDatabase(db.database, ecole);
    perSchool.push(schoolResult(ecole, database, await checkSchoolDatabase({ ...db, database }, timeoutMs)));
  }
  return [...perSchool.filter((r) => r.status !== 'ok'), schoolsSummary(perSchool)];
}
