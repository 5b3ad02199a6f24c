/** The doctor's reading of Mosquitto's acl_file: parsing, filter matching, and the bridge's read access. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aclResult, BRIDGE_FILTERS } from '../../src/ops/doctor/acl-check.js';
import { formatResult } from '../../src/ops/doctor/check.js';
import { filterCovers, filtersOverlap, parseAclFile, readVerdict } from '../../src/ops/doctor/mosquitto-acl.js';

const shipped = (name: string) => readFileSync(new URL(`../../mosquitto/config/${name}`, import.meta.url), 'utf8');
const bridge = (username: string) => ({ username, clientId: 'mqtt-bridge' });
const verdicts = (text: string, username: string) => BRIDGE_FILTERS.map((f) => readVerdict(parseAclFile(text), bridge(username), f).verdict);

describe('topic filters', () => {
  it.each([
    ['serre/+/bac/+', 'serre/+/bac/+', true],
    ['serre/#', 'serre/+/bac/+', true],
    ['#', 'controleur/+/disconnect', true],
    ['controleur/#', 'controleur', true],
    ['+/+', 'controleur/+', true],
    ['serre/1/bac/+', 'serre/+/bac/+', false],
    ['controleur/+', 'controleur/+/disconnect', false],
    ['controleur/+/disconnect', 'controleur/+', false],
    ['serre/+', 'serre/#', false],
  ])('%s covers %s: %s', (acl, filter, covers) => {
    expect(filterCovers(acl, filter)).toBe(covers);
  });

  it.each([
    ['serre/1/bac/+', 'serre/+/bac/+', true],
    ['serre/+', 'serre/#', true],
    ['serre/x', 'serre/#', true],
    ['controleur/+', 'controleur/+/disconnect', false],
    ['serre/+/bac/1', 'serre/2/bac/+', true],
    ['serre/1/bac/+', 'serre/2/bac/+', false],
  ])('%s overlaps %s: %s', (acl, filter, overlaps) => {
    expect(filtersOverlap(acl, filter)).toBe(overlaps);
  });
});

describe('parseAclFile', () => {
  it('reads user, topic and pattern lines as Mosquitto does', () => {
    const acl = parseAclFile(
      ['# comment', 'topic read anon/+', '', 'user  mqtt bridge  ', 'topic serre/#', 'topic deny serre/secret/#', 'pattern write controleur/%u   ', 'topic read'].join('\n'),
    );
    expect(acl.problems).toEqual([]);
    expect(acl.users.get('')).toEqual([{ access: 'read', filter: 'anon/+', line: 2 }]);
    expect(acl.users.get('mqtt bridge')).toEqual([
      { access: 'readwrite', filter: 'serre/#', line: 5 },
      { access: 'deny', filter: 'serre/secret/#', line: 6 },
      // A lone word after "topic" is the topic itself, with readwrite access.
      { access: 'readwrite', filter: 'read', line: 8 },
    ]);
    expect(acl.patterns).toEqual([{ access: 'write', filter: 'controleur/%u', line: 7 }]);
  });

  it('lists the lines Mosquitto refuses to start with', () => {
    const acl = parseAclFile(['  # indented comment', 'topic maybe a/b', 'topic read a/#/b', 'user', 'allow all'].join('\n'));
    expect(acl.problems).toEqual([
      'line 1: unknown line "# indented comment"',
      'line 2: unknown access "maybe" (read, write, readwrite or deny)',
      'line 3: invalid topic filter "a/#/b"',
      'line 4: user without a name',
      'line 5: unknown line "allow all"',
    ]);
  });
});

describe('readVerdict', () => {
  it('the shipped ACLs let mqtt-bridge and parc-bridge read the three filters, and nobody else', () => {
    for (const name of ['acl', 'acl.mac-cn']) {
      expect(parseAclFile(shipped(name)).problems, name).toEqual([]);
      expect(verdicts(shipped(name), 'mqtt-bridge'), name).toEqual(['allowed', 'allowed', 'allowed']);
      expect(verdicts(shipped(name), 'parc-bridge'), name).toEqual(['allowed', 'allowed', 'allowed']);
      expect(verdicts(shipped(name), 'm5-serre-1'), name).toEqual(['denied', 'denied', 'denied']);
    }
  });

  it('the ACL of earlier versions lets only parc-bridge read: mqtt-bridge gets nothing', () => {
    const old = ['pattern write serre/+/bac/+', 'pattern write controleur/%u', 'user parc-bridge', 'topic read serre/+/bac/+', 'topic read controleur/+', 'topic read controleur/+/disconnect'].join('\n');
    expect(verdicts(old, 'mqtt-bridge')).toEqual(['denied', 'denied', 'denied']);
    expect(verdicts(old, 'parc-bridge')).toEqual(['allowed', 'allowed', 'allowed']);
  });

  it('tries deny lines first, whatever their place in the file', () => {
    const acl = parseAclFile(['user mqtt-bridge', 'topic read #', 'topic deny controleur/+'].join('\n'));
    expect(readVerdict(acl, bridge('mqtt-bridge'), 'controleur/+')).toEqual({ verdict: 'denied', lines: [3], reason: 'denied by "deny controleur/+"' });
    expect(readVerdict(acl, bridge('mqtt-bridge'), 'serre/+/bac/+')).toEqual({ verdict: 'allowed', lines: [2] });
  });

  it('a write-only line does not stop the search; a narrower read line allows only part', () => {
    const acl = parseAclFile(['user mqtt-bridge', 'topic write serre/#', 'topic read serre/1/bac/+'].join('\n'));
    expect(readVerdict(acl, bridge('mqtt-bridge'), 'serre/+/bac/+')).toMatchObject({ verdict: 'partly', lines: [3] });
  });

  it('substitutes %u and %c in patterns, and skips patterns for a name holding + or #', () => {
    const acl = parseAclFile(['pattern read bridges/%u/#', 'pattern read %c/+'].join('\n'));
    expect(readVerdict(acl, { username: 'mqtt-bridge', clientId: 'x' }, 'bridges/mqtt-bridge/serre/+/bac/+').verdict).toBe('allowed');
    expect(readVerdict(acl, { username: 'u', clientId: 'controleur' }, 'controleur/+').verdict).toBe('allowed');
    expect(readVerdict(acl, { username: 'u', clientId: 'controleur#' }, 'controleur/+')).toMatchObject({ verdict: 'denied', reason: expect.stringContaining('+ or #') });
  });
});

describe('the doctor line', () => {
  it('passes on the shipped ACL and names the lines', () => {
    expect(formatResult(aclResult('mosquitto/config/acl', shipped('acl'), bridge('mqtt-bridge')))).toMatch(
      /^✔ Broker ACL \(MQTT_ACL_FILE\): CN=mqtt-bridge may read serre\/\+\/bac\/\+ \(line \d+\), controleur\/\+ \(line \d+\), controleur\/\+\/disconnect \(line \d+\) in mosquitto\/config\/acl$/,
    );
  });

  it('fails when the CN may not read, and says which lines to add', () => {
    const line = formatResult(aclResult('/etc/mosquitto/acl', 'user parc-bridge\ntopic read #\n', bridge('mqtt-bridge')));
    expect(line).toMatch(/^✘ Broker ACL \(MQTT_ACL_FILE\): CN=mqtt-bridge may not read serre\/\+\/bac\/\+: no line allows it; controleur\/\+: no line allows it; .*receive nothing/);
    expect(line).toContain('→ add to /etc/mosquitto/acl: "user mqtt-bridge" followed by "topic read serre/+/bac/+"');
  });

  it('warns when only part of a filter is readable or the file has lines Mosquitto refuses', () => {
    const partly = 'user mqtt-bridge\ntopic read serre/1/bac/+\ntopic read controleur/#\n';
    expect(formatResult(aclResult('acl', partly, bridge('mqtt-bridge')))).toMatch(/^⚠ .*may read only part of serre\/\+\/bac\/\+: only some of its topics are readable \(line 2\)/);
    const broken = `${shipped('acl')}\nallow everything\n`;
    expect(formatResult(aclResult('acl', broken, bridge('mqtt-bridge')))).toMatch(/^⚠ .*Mosquitto would refuse this file: line \d+: unknown line "allow everything"/);
  });
});
