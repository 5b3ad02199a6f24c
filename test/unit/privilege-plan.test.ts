/** planPrivileges: what create-db-user grants and revokes, from the privileges an account holds. */
import { describe, expect, it } from 'vitest';
import { planPrivileges, type HeldPrivilege } from '../../src/db/privilege-plan.js';

const DB = 'parc';
const wanted = new Map([
  ['serre', ['SELECT']],
  ['mesure', ['SELECT', 'INSERT']],
]);
const on = (table: string, privilege: string, grantable = false): HeldPrivilege => ({ schema: DB, table, column: null, privilege, grantable });
const usage: HeldPrivilege = { schema: null, table: null, column: null, privilege: 'USAGE', grantable: false };

describe('planPrivileges', () => {
  it('grants everything to a new account and revokes nothing', () => {
    expect(planPrivileges([usage], DB, wanted)).toEqual({
      grants: [
        { level: { schema: DB, table: 'serre' }, privileges: ['SELECT'] },
        { level: { schema: DB, table: 'mesure' }, privileges: ['SELECT', 'INSERT'] },
      ],
      revokes: [],
    });
  });

  it('changes nothing when the account holds exactly what is wanted', () => {
    expect(planPrivileges([usage, on('serre', 'SELECT'), on('mesure', 'SELECT'), on('mesure', 'INSERT')], DB, wanted)).toEqual({ grants: [], revokes: [] });
  });

  it('grants only what is missing, and revokes only what goes beyond, at every level', () => {
    const held: HeldPrivilege[] = [
      { schema: null, table: null, column: null, privilege: 'SELECT', grantable: false },
      { schema: DB, table: null, column: null, privilege: 'DELETE', grantable: false },
      { schema: 'autre', table: 'x', column: null, privilege: 'SELECT', grantable: false },
      { schema: DB, table: 'mesure', column: 'value', privilege: 'UPDATE', grantable: false },
      { schema: DB, table: 'mesure', column: 'bac', privilege: 'UPDATE', grantable: false },
      on('mesure', 'SELECT', true),
      on('mesure', 'DROP'),
    ];
    expect(planPrivileges(held, DB, wanted)).toEqual({
      grants: [
        { level: { schema: DB, table: 'serre' }, privileges: ['SELECT'] },
        { level: { schema: DB, table: 'mesure' }, privileges: ['INSERT'] },
      ],
      revokes: [
        { level: { schema: null, table: null }, privileges: ['SELECT'] },
        { level: { schema: DB, table: null }, privileges: ['DELETE'] },
        { level: { schema: 'autre', table: 'x' }, privileges: ['SELECT'] },
        { level: { schema: DB, table: 'mesure' }, privileges: ['DROP'] },
        { level: { schema: DB, table: 'mesure' }, privileges: ['UPDATE'], columns: ['value', 'bac'] },
        { level: { schema: DB, table: 'mesure' }, privileges: ['GRANT OPTION'] },
      ],
    });
  });

  it('never revokes a wanted privilege held on a table of another database name', () => {
    const plan = planPrivileges([{ ...on('serre', 'SELECT'), schema: 'parc_old' }], DB, wanted);
    expect(plan.revokes).toEqual([{ level: { schema: 'parc_old', table: 'serre' }, privileges: ['SELECT'] }]);
    expect(plan.grants[0]).toEqual({ level: { schema: DB, table: 'serre' }, privileges: ['SELECT'] });
  });

  it('keeps every school database\'s grants in one plan: none is revoked while another is granted', () => {
    const school = (schema: string, table: string, privilege: string) => ({ ...on(table, privilege), schema });
    const held = [usage, school('parc_ecole_1', 'serre', 'SELECT'), school('parc_ecole_1', 'mesure', 'SELECT'), school('parc_ecole_1', 'mesure', 'INSERT'), school('parc_old', 'serre', 'SELECT')];
    expect(planPrivileges(held, ['parc_ecole_1', 'parc_ecole_2'], wanted)).toEqual({
      grants: [
        { level: { schema: 'parc_ecole_2', table: 'serre' }, privileges: ['SELECT'] },
        { level: { schema: 'parc_ecole_2', table: 'mesure' }, privileges: ['SELECT', 'INSERT'] },
      ],
      revokes: [{ level: { schema: 'parc_old', table: 'serre' }, privileges: ['SELECT'] }],
    });
  });

  it("keeps the grants on other instances' school databases when asked to", () => {
    const held = [usage, { ...on('serre', 'SELECT'), schema: 'parc_ecole_9' }, { ...on('serre', 'SELECT'), schema: 'parc_old' }];
    const plan = planPrivileges(held, ['parc_ecole_1'], wanted, (schema) => /^parc_ecole_[a-z0-9-]+$/.test(schema));
    expect(plan.revokes).toEqual([{ level: { schema: 'parc_old', table: 'serre' }, privileges: ['SELECT'] }]);
  });

  it('refuses a privilege name that is not one', () => {
    expect(() => planPrivileges([on('serre', 'SELECT; DROP TABLE x')], DB, wanted)).toThrow(/unexpected privilege name/);
  });
});
