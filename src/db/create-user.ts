import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';

/**
 * The bridge's MySQL account, with least privilege: it reads the reference tables, appends
 * readings and errors, upserts controllers, and keeps its own two tables. Nothing else.
 */
export const GRANTS: Array<[privileges: string, table: string]> = [
  ['SELECT', 'serre'],
  ['SELECT', 'bac'],
  ['SELECT', 'capteur'],
  // SELECT on mesure: the greenhouse watch remembers each sensor's last reading across a restart.
  ['SELECT, INSERT', 'mesure'],
  // SELECT on error and controleur serves the status page (last errors, controllers online).
  ['SELECT, INSERT', 'error'],
  ['SELECT, INSERT, UPDATE', 'controleur'],
  ['SELECT, INSERT, UPDATE, DELETE', 'bridge_journal_position'],
  ['SELECT, INSERT, UPDATE, DELETE', 'bridge_controleur_event'],
  ['SELECT, INSERT, UPDATE, DELETE', 'bridge_controleur_error'],
];

export interface BridgeAccount {
  user: string;
  password: string;
  host: string;
  database: string;
}

export async function createBridgeUser(admin: Pool, account: BridgeAccount, log: Logger): Promise<void> {
  const who = [account.user, account.host];
  await admin.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [...who, account.password]);
  // The password in the environment is the truth: an existing account gets it too.
  await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [...who, account.password]);
  await admin.query('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?', who);
  for (const [privileges, table] of GRANTS) {
    await admin.query(`GRANT ${privileges} ON ??.?? TO ?@?`, [account.database, table, ...who]);
  }
  log.info({ user: account.user, host: account.host, database: account.database }, 'bridge account ready with least privilege');
}
