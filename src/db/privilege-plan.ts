/**
 * What `create-db-user` changes in an account's privileges, worked out from what it holds: the
 * table privileges it lacks are granted, everything beyond them is revoked, and nothing it keeps
 * is ever revoked, not even for a moment (a write of the running bridge landing in between would
 * be refused). Pure: the account's privileges come in as rows of information_schema.
 */

/** One row of information_schema.{USER,SCHEMA,TABLE,COLUMN}_PRIVILEGES for the account. */
export interface HeldPrivilege {
  /** null for a global privilege. */
  schema: string | null;
  /** null for a global or database-wide privilege. */
  table: string | null;
  /** Set for a column privilege. */
  column: string | null;
  privilege: string;
  grantable: boolean;
}

/** `*.*`, `db.*` or `db.table`; the identifiers are escaped by the caller's driver. */
export interface Level {
  schema: string | null;
  table: string | null;
}

export interface PrivilegeChange {
  level: Level;
  /** e.g. ['SELECT', 'INSERT']; one privilege when `columns` is set. */
  privileges: string[];
  /** A column privilege: the columns it is held on. */
  columns?: string[];
}

export interface PrivilegePlan {
  grants: PrivilegeChange[];
  /** Run after the grants. GRANT OPTION appears as the privilege 'GRANT OPTION'. */
  revokes: PrivilegeChange[];
}

/** Privilege names as MariaDB / MySQL spell them: never anything else spliced into a statement. */
const PRIVILEGE_NAME = /^[A-Z][A-Z ]*$/;

function key(level: Level): string {
  return JSON.stringify([level.schema, level.table]);
}

/**
 * `wanted` maps each table to the privileges the account must hold on it in each of
 * `databases` (one, or one per school), and nothing else, anywhere.
 */
export function planPrivileges(
  held: HeldPrivilege[],
  databases: string | readonly string[],
  wanted: Map<string, string[]>,
  /** Databases whose wanted privileges are kept though not asked for (other instances' schools). */
  alsoKept: (schema: string) => boolean = () => false,
): PrivilegePlan {
  const schemas = typeof databases === 'string' ? [databases] : databases;
  for (const row of held) {
    if (!PRIVILEGE_NAME.test(row.privilege)) throw new Error(`unexpected privilege name ${JSON.stringify(row.privilege)}`);
  }
  const heldOnTable = (database: string, table: string) =>
    new Set(held.filter((h) => h.schema === database && h.table === table && h.column === null).map((h) => h.privilege));

  const grants: PrivilegeChange[] = [];
  for (const database of schemas) {
    for (const [table, privileges] of wanted) {
      const have = heldOnTable(database, table);
      const lacking = privileges.filter((p) => !have.has(p));
      if (lacking.length > 0) grants.push({ level: { schema: database, table }, privileges: lacking });
    }
  }

  const extra = new Map<string, PrivilegeChange>();
  const columnExtra = new Map<string, PrivilegeChange>();
  const grantOption = new Map<string, Level>();
  for (const row of held) {
    const level: Level = { schema: row.schema, table: row.table };
    if (row.grantable) grantOption.set(key(level), level);
    // USAGE is "no privilege"; it cannot be revoked.
    if (row.privilege === 'USAGE') continue;
    if (row.column !== null) {
      const id = JSON.stringify([row.schema, row.table, row.privilege]);
      const change = columnExtra.get(id) ?? { level, privileges: [row.privilege], columns: [] };
      change.columns?.push(row.column);
      columnExtra.set(id, change);
      continue;
    }
    const keep =
      row.schema !== null && (schemas.includes(row.schema) || alsoKept(row.schema)) && row.table !== null && (wanted.get(row.table) ?? []).includes(row.privilege);
    if (keep) continue;
    const change = extra.get(key(level)) ?? { level, privileges: [] };
    change.privileges.push(row.privilege);
    extra.set(key(level), change);
  }
  const revokes = [...extra.values(), ...columnExtra.values()];
  for (const level of grantOption.values()) revokes.push({ level, privileges: ['GRANT OPTION'] });
  return { grants, revokes };
}
