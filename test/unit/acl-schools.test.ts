/** `parc-bridge acl` for schools bridged to a broker (--school, SCHOOLS) and the central broker (--central). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAclArgs } from '../../src/ops/acl/args.js';
import { planAcl } from '../../src/ops/acl/plan.js';
import { renderAcl, renderCentralAcl } from '../../src/ops/acl/render.js';
import { renderSchoolBlocks } from '../../src/ops/acl/schools.js';
import { filterCovers, parseAclFile, readVerdict, type AclFile } from '../../src/ops/doctor/mosquitto-acl.js';

const MAC_A = '24:6F:28:AB:CD:01';
const siteConf = readFileSync(new URL('../../deploy/site-broker/mosquitto.conf', import.meta.url), 'utf8');

/** Whether `user` may publish on `topic` by its own entries (the generated files have no pattern, no deny). */
function mayWrite(acl: AclFile, user: string, topic: string): boolean {
  return (acl.users.get(user) ?? []).some((e) => (e.access === 'write' || e.access === 'readwrite') && filterCovers(e.filter, topic));
}

describe('acl arguments for schools', () => {
  it('takes --school, repeated or as a comma list, and says where the list came from', () => {
    expect(parseAclArgs(['--school', 'ecole-1,ecole-2', '--school', 'lycee-agricole-3'])).toMatchObject({
      options: { schools: ['ecole-1', 'ecole-2', 'lycee-agricole-3'], schoolsFrom: '--school', central: false },
    });
  });

  it('falls back on SCHOOLS, the central bridge\'s own list, and --school wins over it', () => {
    expect(parseAclArgs([], { SCHOOLS: ' ecole-1, ecole-2 ' })).toMatchObject({ options: { schools: ['ecole-1', 'ecole-2'], schoolsFrom: 'SCHOOLS' } });
    expect(parseAclArgs(['--school', 'ecole-9'], { SCHOOLS: 'ecole-1' })).toMatchObject({ options: { schools: ['ecole-9'], schoolsFrom: '--school' } });
    expect(parseAclArgs([], { SCHOOLS: '' })).toMatchObject({ options: { schools: [], schoolsFrom: undefined } });
  });

  it('lists every bad school id at once, and what --central cannot do', () => {
    expect(parseAclArgs(['--school', 'Ecole_1,ecole-1,ecole-1', '--school', 'ecole/+', '--school', 'x'.repeat(33)])).toEqual({
      help: false,
      errors: [
        `--school: "Ecole_1" is not a school id (a-z, 0-9, '-', at most 32, e.g. ecole-1)`,
        '--school: school "ecole-1" is given twice',
        `--school: "ecole/+" is not a school id (a-z, 0-9, '-', at most 32, e.g. ecole-1)`,
        `--school: "${'x'.repeat(33)}" is not a school id (a-z, 0-9, '-', at most 32, e.g. ecole-1)`,
      ],
    });
    expect(parseAclArgs(['--central'])).toMatchObject({ errors: ['--central needs the schools bridged here: --school <id> (or SCHOOLS)'] });
    expect(parseAclArgs(['--central', '--school', 'ecole-1', '--cn', `${MAC_A}=m5`])).toMatchObject({ errors: ['--central writes no controller: --cn and --cn-file do not apply'] });
  });

  it('refuses a controller mapped to a school bridge\'s certificate name', () => {
    expect(parseAclArgs(['--cn', `${MAC_A}=site-bridge-ecole-1`])).toMatchObject({
      errors: [`--cn: "site-bridge-ecole-1" is a school broker's bridge identity, not a controller's`],
    });
  });
});

describe('the school blocks', () => {
  const central = parseAclFile(renderCentralAcl(['ecole-1', 'ecole-2']));

  it('let each school publish under its own prefix only, what its broker forwards', () => {
    expect(central.problems).toEqual([]);
    expect(central.patterns).toEqual([]);
    for (const topic of ['serre/1/bac/1', 'controleur/24:6F:28:AB:CD:01', 'controleur/24:6F:28:AB:CD:01/disconnect', 'bridge/state']) {
      expect(mayWrite(central, 'site-bridge-ecole-1', `ecole/ecole-1/${topic}`), topic).toBe(true);
      expect(mayWrite(central, 'site-bridge-ecole-1', `ecole/ecole-2/${topic}`), topic).toBe(false);
      expect(mayWrite(central, 'site-bridge-ecole-2', `ecole/ecole-2/${topic}`), topic).toBe(true);
    }
    for (const topic of ['serre/1/bac/1', 'controleur/24:6F:28:AB:CD:01', 'ecole/ecole-1/anything', 'ecole/ecole-1/serre/1/bac/1/x', 'parc-bridge/doctor/x']) {
      expect(mayWrite(central, 'site-bridge-ecole-1', topic), topic).toBe(false);
    }
  });

  it('match the topics the shipped school broker forwards and notifies', () => {
    const forwarded = [...siteConf.matchAll(/^topic (\S+) out 1 "" ecole\/SCHOOL_ID\/$/gm)].map((m) => `ecole/ecole-1/${m[1]}`);
    expect(forwarded).toEqual(['ecole/ecole-1/serre/+/bac/+', 'ecole/ecole-1/controleur/#']);
    expect(siteConf).toMatch(/^notification_topic ecole\/SCHOOL_ID\/bridge\/state$/m);
    for (const topic of ['ecole/ecole-1/serre/3/bac/2', 'ecole/ecole-1/controleur/24:6F:28:AB:CD:01', 'ecole/ecole-1/controleur/24:6F:28:AB:CD:01/disconnect', 'ecole/ecole-1/bridge/state']) {
      expect(mayWrite(central, 'site-bridge-ecole-1', topic), topic).toBe(true);
    }
  });

  it('let the bridge read every school, and the healthcheck every link state', () => {
    const bridge = { username: 'mqtt-bridge', clientId: 'mqtt-bridge' };
    for (const school of ['ecole-1', 'ecole-2']) {
      for (const filter of [`ecole/${school}/serre/+/bac/+`, `ecole/${school}/controleur/+`, `ecole/${school}/controleur/+/disconnect`, `ecole/${school}/bridge/state`]) {
        expect(readVerdict(central, bridge, filter).verdict, filter).toBe('allowed');
      }
      expect(readVerdict(central, { username: 'mosquitto', clientId: 'healthcheck' }, `ecole/${school}/bridge/state`).verdict).toBe('allowed');
    }
    expect(readVerdict(central, bridge, 'ecole/ecole-3/serre/+/bac/+').verdict).toBe('denied');
  });

  it('are in the per-controller ACL beside the controllers, and say so when there is none', () => {
    const plan = planAcl({ serres: [{ numero: 1, controleur: MAC_A }], controllers: [] }, new Map());
    const withSchool = parseAclFile(renderAcl(plan, 'parc', ['ecole-1']));
    expect(withSchool.problems).toEqual([]);
    expect(mayWrite(withSchool, MAC_A, 'serre/1/bac/1')).toBe(true);
    expect(mayWrite(withSchool, 'site-bridge-ecole-1', 'ecole/ecole-1/serre/1/bac/1')).toBe(true);
    expect(renderAcl(plan, 'parc')).toContain('# None (--school, SCHOOLS): a school broker bridged here (CN=site-bridge-<id>) may publish nothing.');
  });

  it('refuse a school id that could start a rule of its own, and a central ACL without schools', () => {
    expect(() => renderSchoolBlocks(['ecole-1\ntopic write #'])).toThrow(/refusing to write an ACL rule for school "ecole-1\\ntopic write #"/);
    expect(() => renderCentralAcl([])).toThrow(/without any school/);
  });
});
