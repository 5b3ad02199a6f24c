/** `parc-bridge acl`, its pure parts: arguments and CN mapping, the plan from the database's rows, the ACL text. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAclArgs } from '../../src/ops/acl/args.js';
import { planAcl } from '../../src/ops/acl/plan.js';
import { renderAcl } from '../../src/ops/acl/render.js';
import { BRIDGE_FILTERS } from '../../src/ops/doctor/acl-check.js';
import { parseAclFile, readVerdict, type AclFile } from '../../src/ops/doctor/mosquitto-acl.js';

const MAC_A = '24:6F:28:AB:CD:01';
const MAC_B = '24:6F:28:AB:CD:02';
const shipped = (name: string) => readFileSync(new URL(`../../mosquitto/config/${name}`, import.meta.url), 'utf8');

/** A user's entries without their line numbers. */
function rules(acl: AclFile, user: string): Array<{ access: string; filter: string }> {
  return (acl.users.get(user) ?? []).map(({ access, filter }) => ({ access, filter }));
}

describe('acl arguments', () => {
  it('maps MACs to CNs from --cn and --cn-file, upper-casing the MAC', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parc-acl-args-'));
    const file = path.join(dir, 'cn.map');
    writeFileSync(file, `# controllers named by hand\n${MAC_B.toLowerCase()}=m5-serre-2   # the second one\n\n`);
    const parsed = parseAclArgs(['--out', 'acl.generated', '--cn', `${MAC_A}=m5-serre-1`, '--cn-file', file]);
    expect(parsed).toEqual({
      help: false,
      options: {
        out: 'acl.generated',
        cnByMac: new Map([[MAC_B, 'm5-serre-2'], [MAC_A, 'm5-serre-1']]),
        schools: [],
        schoolsFrom: undefined,
        central: false,
      },
    });
  });

  it('lists every bad mapping at once', () => {
    const parsed = parseAclArgs(['--cn', 'm5-serre-1', '--cn', `${MAC_A}=mqtt-bridge`, '--cn', `${MAC_B}=two words`, '--cn', `${MAC_B}=ok`, '--cn', `${MAC_B.toLowerCase()}=other`]);
    expect(parsed).toEqual({
      help: false,
      errors: [
        '--cn: expected <MAC>=<CN> (e.g. 24:6F:28:AB:CD:01=m5-serre-1), got "m5-serre-1"',
        `--cn: "mqtt-bridge" is the bridge's or the broker's identity, not a controller's`,
        `--cn: "two words" is not a certificate name clients-certs.sh accepts (letters, digits, ':', '-', '_', '.', at most 64)`,
        `--cn: ${MAC_B} is already mapped to "ok"`,
      ],
    });
  });

  it('refuses an unknown option and a missing mapping file', () => {
    expect(parseAclArgs(['--acl-file', 'x'])).toMatchObject({ errors: [expect.stringContaining("'--acl-file'")] });
    expect(parseAclArgs(['--cn-file', '/nonexistent/cn.map'])).toMatchObject({ errors: [expect.stringMatching(/^--cn-file \/nonexistent\/cn\.map: ENOENT/)] });
  });
});

describe('the plan from serre.controleur and controleur', () => {
  it('gives each controller its serres, by CN, and says which serres nobody may write', () => {
    const plan = planAcl(
      {
        serres: [
          { numero: 1, controleur: MAC_A },
          { numero: 2, controleur: ` ${MAC_B.toLowerCase()} ` },
          { numero: 3, controleur: MAC_A },
          { numero: 4, controleur: null },
          { numero: 5, controleur: '' },
          { numero: 6, controleur: 'serre-6/#' },
        ],
        controllers: [MAC_A, '24:6F:28:AB:CD:09', 'not-a-mac'],
      },
      new Map([[MAC_B, 'm5-serre-2']]),
    );
    expect(plan).toEqual({
      controllers: [
        { cn: MAC_A, macs: [MAC_A], serres: [1, 3] },
        { cn: '24:6F:28:AB:CD:09', macs: ['24:6F:28:AB:CD:09'], serres: [] },
        { cn: 'm5-serre-2', macs: [MAC_B], serres: [2] },
      ],
      unassignedSerres: [4, 5, 6],
      warnings: ['serre 6: serre.controleur "serre-6/#" is not a MAC; skipped', 'controleur "not-a-mac" is not a MAC; skipped'],
    });
  });

  it('warns about a mapping whose MAC the database does not know, and still lets it announce itself', () => {
    const plan = planAcl({ serres: [], controllers: [] }, new Map([[MAC_A, 'm5-serre-1']]));
    expect(plan.controllers).toEqual([{ cn: 'm5-serre-1', macs: [MAC_A], serres: [] }]);
    expect(plan.warnings).toEqual([`--cn ${MAC_A}: no serre or controleur has this MAC; it gets only its controleur/${MAC_A} topics`]);
  });
});

describe('the generated ACL', () => {
  const text = renderAcl(
    planAcl({ serres: [{ numero: 1, controleur: MAC_A }, { numero: 2, controleur: MAC_B }, { numero: 3, controleur: null }], controllers: [] }, new Map([[MAC_B, 'm5-serre-2']])),
    'parc',
  );
  const acl = parseAclFile(text);

  it('is valid for Mosquitto, has no pattern line, and binds each CN to its serres and its MAC', () => {
    expect(acl.problems).toEqual([]);
    expect(acl.patterns).toEqual([]);
    expect(rules(acl, MAC_A)).toEqual([
      { access: 'write', filter: 'serre/1/bac/+' },
      { access: 'write', filter: `controleur/${MAC_A}` },
      { access: 'write', filter: `controleur/${MAC_A}/disconnect` },
    ]);
    expect(rules(acl, 'm5-serre-2')).toEqual([
      { access: 'write', filter: 'serre/2/bac/+' },
      { access: 'write', filter: `controleur/${MAC_B}` },
      { access: 'write', filter: `controleur/${MAC_B}/disconnect` },
    ]);
    expect(text).toContain('readings nobody may publish: 3');
  });

  it.each(['acl', 'acl.mac-cn'])("keeps the shipped %s's bridge, doctor-probe and healthcheck lines exactly", (file) => {
    const shippedAcl = parseAclFile(shipped(file));
    expect(shippedAcl.problems).toEqual([]);
    expect([...shippedAcl.users.keys()].sort()).toEqual(['mosquitto', 'mqtt-bridge', 'parc-bridge']);
    for (const user of ['mqtt-bridge', 'parc-bridge', 'mosquitto']) {
      expect(rules(acl, user), user).toEqual(rules(shippedAcl, user));
      expect(rules(acl, user).length, user).toBeGreaterThan(0);
    }
    const bridge = { username: 'mqtt-bridge', clientId: 'mqtt-bridge' };
    expect(BRIDGE_FILTERS.map((f) => readVerdict(acl, bridge, f).verdict)).toEqual(BRIDGE_FILTERS.map(() => 'allowed'));
  });
});

describe('values written into the generated ACL', () => {
  const plan = planAcl({ serres: [{ numero: 1, controleur: MAC_A }], controllers: [] }, new Map());

  it('keeps a database name with a line break inside its comment line', () => {
    const hostile = 'parc\ntopic readwrite #\r\nuser evil\u2028"x\\';
    const text = renderAcl(plan, hostile);
    const acl = parseAclFile(text);
    expect(acl.problems).toEqual([]);
    expect([...acl.users.keys()].sort()).toEqual([MAC_A, 'mosquitto', 'mqtt-bridge', 'parc-bridge']);
    expect(rules(acl, MAC_A).map((r) => r.filter)).not.toContain('#');
    const nameLine = text.split('\n').find((l) => l.includes('from the database'));
    expect(nameLine).toBe(
      '# GENERATED by `parc-bridge acl` from the database "parc\\u000atopic readwrite #\\u000d\\u000auser evil\\u2028\\u0022x\\u005c" (serre.controleur): do not',
    );
    expect(renderAcl(plan, 'parc')).toEqual(text.replace(nameLine ?? '', nameLine?.replace(/".*"/, '"parc"') ?? ''));
  });

  it('refuses a certificate name or a MAC that could start a rule of its own', () => {
    const rights = { macs: [MAC_A], serres: [1] };
    expect(() => renderAcl({ controllers: [{ cn: 'm5\ntopic write #', ...rights }], unassignedSerres: [], warnings: [] }, 'parc')).toThrow(/refusing to write an ACL rule for "m5\\ntopic write #"/);
    expect(() => renderAcl({ controllers: [{ cn: 'm5', macs: [`${MAC_A}\n`], serres: [] }], unassignedSerres: [], warnings: [] }, 'parc')).toThrow(/refusing/);
  });
});
