/** Which database `npm run demo` fills: its own, never DB_NAME; `parc` or a real one only when forced. */
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../src/ops/demo.js';
import { databaseStateRefusal, mayMarkAsDemo, productionNameRefusal } from '../../src/ops/demo/database-guard.js';
import { demoDbEnv } from '../../src/ops/demo/run.js';

describe('the demo database name', () => {
  it('is parc_demo unless --db-name says otherwise; DB_NAME in the environment is not used', () => {
    expect(parseDemoArgs([])).toMatchObject({ dbName: 'parc_demo', forceDb: false });
    expect(parseDemoArgs(['--db-name', 'essai_demo', '--force-db'])).toMatchObject({ dbName: 'essai_demo', forceDb: true });
    const env = demoDbEnv({ DB_NAME: 'parc', DB_HOST: 'db.lycee.local', DB_USER: '', PATH: '/bin' }, 'parc_demo');
    expect(env).toMatchObject({ DB_NAME: 'parc_demo', DB_HOST: 'db.lycee.local', DB_USER: 'root', DB_PASSWORD: '', PATH: '/bin' });
  });

  it('refuses a name that is not a plain identifier, with the other problems', () => {
    expect(parseDemoArgs(['--db-name', 'parc`; DROP', '--serres', '0'])).toEqual({
      errors: ['--serres must be a whole number from 1 to 50, got "0"', `--db-name must be letters, digits and '_' (at most 64), got "parc\`; DROP"`],
    });
  });
});

describe('what the demo refuses to fill', () => {
  const realSchool = { exists: true, marked: false, serres: 12 };

  it('refuses parc, in any case, unless forced', () => {
    expect(productionNameRefusal('parc', false)).toMatch(/^the database "parc" is the web application's .*--force-db/);
    expect(productionNameRefusal('PARC', false)).toBeDefined();
    expect(productionNameRefusal('parc', true)).toBeUndefined();
    expect(productionNameRefusal('parc_demo', false)).toBeUndefined();
  });

  it('refuses a database holding serres the demo did not make, unless forced', () => {
    expect(databaseStateRefusal('ecole', realSchool, false)).toMatch(/^the database "ecole" holds 12 serre\(s\) that the demo did not make/);
    expect(databaseStateRefusal('ecole', realSchool, true)).toBeUndefined();
  });

  it('takes a new database, an empty one, or one it marked as its own, and marks only those', () => {
    const cases = [
      { exists: false, marked: false, serres: 0 },
      { exists: true, marked: false, serres: 0 },
      { exists: true, marked: true, serres: 4 },
    ];
    for (const state of cases) {
      expect(databaseStateRefusal('parc_demo', state, false), JSON.stringify(state)).toBeUndefined();
      expect(mayMarkAsDemo(state), JSON.stringify(state)).toBe(true);
    }
    // Forced onto a real database: used, but never marked, so the next run asks again.
    expect(mayMarkAsDemo(realSchool)).toBe(false);
  });
});
