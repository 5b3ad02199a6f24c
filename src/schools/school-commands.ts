/**
 * `migrate` and `create-db-user` for a bridge serving several schools: the same work on every
 * school's database (DB_NAME with `{ecole}`), one school at a time on one connection. A school
 * that fails is reported and the others go on; the exit code says whether all succeeded.
 */
import type { DbConfig } from '../config.js';
import { createBridgeUser, type BridgeAccount } from '../db/create-user.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import { schoolDatabase, schoolOfDatabase } from './school-ids.js';

async function eachSchool(schools: readonly string[], template: string, log: Logger, work: (database: string, log: Logger) => Promise<void>): Promise<number> {
  const failed: string[] = [];
  for (const ecole of schools) {
    const database = schoolDatabase(template, ecole);
    const schoolLog = log.child({ ecole, database });
    try {
      await work(database, schoolLog);
    } catch (err) {
      failed.push(ecole);
      schoolLog.error({ err: errorMessage(err) }, 'failed for this school; going on with the others');
    }
  }
  if (failed.length > 0) log.error({ failed, succeeded: schools.length - failed.length }, 'some schools failed');
  else log.info({ schools: schools.length }, 'done for every school');
  return failed.length === 0 ? 0 : 1;
}

/** Applies the schema to each school's database (which must exist, as the single database must). */
export function migrateSchools(db: DbConfig, schools: readonly string[], log: Logger): Promise<number> {
  return eachSchool(schools, db.database, log, async (database, schoolLog) => {
    const pool = createPool({ ...db, database }, 1);
    try {
      await migrate(pool, schoolLog);
      schoolLog.info('schema is up to date');
    } finally {
      await pool.end();
    }
  });
}

/**
 * The bridge's account with the tables' grants on each school's database, in one plan: a
 * school's grants are never revoked while another's are worked out, and the grants on other
 * school databases of the same template (other instances' schools, scaling out) are kept.
 */
export async function createSchoolsBridgeUser(admin: Pool, account: Omit<BridgeAccount, 'database'>, template: string, schools: readonly string[], log: Logger): Promise<number> {
  const databases = schools.map((ecole) => schoolDatabase(template, ecole));
  try {
    await createBridgeUser(admin, { ...account, database: databases[0]!, databases, alsoKept: (schema) => schoolOfDatabase(template, schema) !== undefined }, log);
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'the bridge account is not ready on every school database');
    return 1;
  }
  log.info({ user: account.user, host: account.host, databases: databases.length }, 'bridge account ready on every school database');
  return 0;
}
