import type { RowDataPacket } from 'mysql2';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import { planPrivileges, type HeldPrivilege, type PrivilegeChange } from './privilege-plan.js';

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
  /** Every database the account writes (school mode: one per school); `database` alone if unset. */
  databases?: readonly string[];
  /**
   * Databases whose grants are kept though this run does not ask for them: in school mode, the
   * schools other instances serve with the same account.
   */
  alsoKept?: (schema: string) => boolean;
}

/**
 * Every privilege the account holds, at every level, as far as the administrator may see them
 * (information_schema shows another account's privileges to an administrator who may read the
 * mysql schema; to one who may not, nothing: then everything wanted is granted, nothing revoked).
 */
async function heldPrivileges(admin: Pool, account: BridgeAccount): Promise<HeldPrivilege[]> {
  const grantee = `'${account.user}'@'${account.host}'`;
  const [rows] = await admin.query<RowDataPacket[]>(
    'SELECT NULL AS s, NULL AS t, NULL AS c, PRIVILEGE_TYPE AS p, IS_GRANTABLE AS g FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ? ' +
      'UNION ALL SELECT TABLE_SCHEMA, NULL, NULL, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? ' +
      'UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, NULL, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? ' +
      'UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ?',
    [grantee, grantee, grantee, grantee],
  );
  return rows.map((r) => ({ schema: r.s, table: r.t, column: r.c, privilege: String(r.p), grantable: r.g === 'YES' }));
}

/** GRANT or REVOKE of one change; privilege names are checked by planPrivileges, identifiers escaped. */
function statement(verb: 'GRANT' | 'REVOKE', change: PrivilegeChange, account: BridgeAccount): [string, unknown[]] {
  const { schema, table } = change.level;
  const on = schema === null ? '*.*' : table === null ? '??.*' : '??.??';
  const onValues = [schema, table].filter((v) => v !== null);
  const columns = change.columns ? ' (??)' : '';
  const direction = verb === 'GRANT' ? 'TO' : 'FROM';
  return [
    `${verb} ${change.privileges.join(', ')}${columns} ON ${on} ${direction} ?@?`,
    [...(change.columns ? [change.columns] : []), ...onValues, account.user, account.host],
  ];
}

/**
 * Creates the account, or brings an existing one to exactly GRANTS. It grants what is missing
 * first, then revokes what is beyond least privilege: the bridge, which may be running, never
 * loses a privilege it uses (a REVOKE ALL then GRANT refused the writes landing in between).
 */
export async function createBridgeUser(admin: Pool, account: BridgeAccount, log: Logger): Promise<void> {
  const who = [account.user, account.host];
  await admin.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [...who, account.password]);
  // The password in the environment is the truth: an existing account gets it too.
  await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [...who, account.password]);
  const wanted = new Map(GRANTS.map(([privileges, table]) => [table, privileges.split(', ')]));
  const plan = planPrivileges(await heldPrivileges(admin, account), account.databases ?? [account.database], wanted, account.alsoKept);
  // A database that refuses its grants (not migrated yet) does not keep the others from theirs.
  const refused = new Map<string, string>();
  for (const change of plan.grants) {
    try {
      await admin.query(...statement('GRANT', change, account));
    } catch (err) {
      refused.set(change.level.schema ?? '*', errorMessage(err));
    }
  }
  for (const change of plan.revokes) await admin.query(...statement('REVOKE', change, account));
  if (refused.size > 0) {
    throw new Error(
      `the grants failed on ${[...refused].map(([schema, why]) => `${schema} (${why})`).join('; ')}; the other databases have theirs. Run migrate on those databases, then create-db-user again`,
    );
  }
  log.info(
    { user: account.user, host: account.host, databases: account.databases ?? [account.database], granted: plan.grants.length, revoked: plan.revokes.length },
    'bridge account ready with least privilege',
  );
}
