/**
 * Which database the demo may fill. It migrates and inserts demo serres and readings, so a
 * school's real database must never be its target by accident: DB_NAME (the bridge's own
 * setting, often exported on a server) is not used; the demo's database is parc_demo unless
 * `--db-name` names another; and `parc` or a database holding serres the demo did not make is
 * refused unless `--force-db`.
 */

export const DEFAULT_DEMO_DB_NAME = 'parc_demo';
/** The table the demo creates in a database it made or found without serres: its own. */
export const DEMO_MARKER_TABLE = 'parc_demo_marker';
/** The bridge's default database, the web application's: never a demo's without --force-db. */
const PRODUCTION_DB_NAME = 'parc';
/** Plain names only: no quoting surprises in the messages and commands the demo prints. */
const DB_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** What the demo found in the database before touching it. */
export interface DemoDatabaseState {
  exists: boolean;
  /** The demo's marker table is there: the demo made it. */
  marked: boolean;
  /** Rows in its `serre` table (0 without one). */
  serres: number;
}

/** Why `name` cannot be the demo's database, or undefined when it can. */
export function demoDbNameProblem(name: string): string | undefined {
  return DB_NAME.test(name) ? undefined : `--db-name must be letters, digits and '_' (at most 64), got "${name}"`;
}

/** Refused before connecting: the web application's own database name. */
export function productionNameRefusal(name: string, force: boolean): string | undefined {
  if (force || name.toLowerCase() !== PRODUCTION_DB_NAME) return undefined;
  return (
    `the database "${name}" is the web application's (the bridge's default DB_NAME); the demo would ` +
    `fill it with demo serres and readings. Leave out --db-name (the demo uses ${DEFAULT_DEMO_DB_NAME}), ` +
    'or add --force-db if this server holds no real data'
  );
}

/** Refused after a look at the database: one that holds serres the demo did not make. */
export function databaseStateRefusal(name: string, state: DemoDatabaseState, force: boolean): string | undefined {
  if (force || !state.exists || state.marked || state.serres === 0) return undefined;
  return (
    `the database "${name}" holds ${state.serres} serre(s) that the demo did not make (it has no ` +
    `${DEMO_MARKER_TABLE} table): it looks like a real installation's. Choose another --db-name, ` +
    'or add --force-db to add the demo data to it anyway'
  );
}

/** Whether the demo may mark the database as its own: it made it, or it held no serre. */
export function mayMarkAsDemo(state: DemoDatabaseState): boolean {
  return !state.exists || state.marked || state.serres === 0;
}
