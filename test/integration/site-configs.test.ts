/**
 * The region's shipped files on their own: the school and central configurations keep every
 * setting of the single-school broker, configure.sh writes a school's configuration and refuses
 * what would break it, clients-certs.sh --site-bridge makes a school's identity in the central PKI.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clientPaths, makePki, MOSQUITTO_DIR, REPO_ROOT, runScript } from '../helpers/pki.js';

const run = promisify(execFile);
const read = (...p: string[]) => readFileSync(path.join(REPO_ROOT, ...p), 'utf8');
/** The directive lines of a Mosquitto configuration, comments and blank lines left out. */
const directives = (conf: string) => conf.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('the school and central configurations', () => {
  const single = directives(readFileSync(path.join(MOSQUITTO_DIR, 'config', 'mosquitto.conf'), 'utf8'));

  // The central broker's own ACL and its queues sized for many schools, on purpose.
  const centralOwn = ['acl_file /mosquitto/config/acl', 'max_queued_messages 1000000', 'max_queued_bytes 134217728'];
  it.each([
    ['deploy/site-broker/mosquitto.conf', []],
    ['deploy/central-broker/mosquitto.conf', centralOwn],
  ])('%s keeps every other setting of mosquitto/config/mosquitto.conf', (file, replaced: string[]) => {
    const conf = directives(read(file));
    expect(single.filter((line) => !conf.includes(line) && !replaced.includes(line))).toEqual([]);
  });
});

describe('configure.sh', () => {
  const configure = path.join(REPO_ROOT, 'deploy', 'site-broker', 'configure.sh');

  it("writes a school's bridge: its prefix, its client id, the central listener by default", async () => {
    const { stdout } = await run(configure, ['lycee-3', 'central.region.example']);
    expect(directives(stdout).filter((l) => /lycee-3|central\.region|^address/.test(l))).toEqual([
      'address central.region.example:8884',
      'remote_clientid site-bridge-lycee-3',
      'notification_topic ecole/lycee-3/bridge/state',
      'topic serre/+/bac/+ out 1 "" ecole/lycee-3/',
      'topic controleur/# out 1 "" ecole/lycee-3/',
    ]);
    expect(stdout).not.toMatch(/SCHOOL_ID|CENTRAL_HOST/);
  });

  it.each([
    [['Ecole_1', 'central'], /invalid school id 'Ecole_1'/],
    [['ecole-1/#', 'central'], /invalid school id/],
    [['ecole-1', 'central; rm -rf /'], /invalid central host/],
    [['ecole-1'], /Usage/],
  ])('refuses %j', async (args, message) => {
    await expect(run(configure, args)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
  });
});

describe('clients-certs.sh --site-bridge', () => {
  it("makes CN=site-bridge-<id> signed by the central CA, with that CA beside it, and refuses what is not a school's", async () => {
    const central = await makePki();
    expect((await runScript('clients-certs.sh', ['--site-bridge', 'ecole-7'], { PKI_DIR: central.dir })).code).toBe(0);
    const made = clientPaths(central.dir, 'site-bridge-ecole-7');
    const { stdout } = await run('openssl', ['x509', '-noout', '-subject', '-in', made.certFile]);
    expect(stdout.trim()).toBe('subject=CN = site-bridge-ecole-7');
    await run('openssl', ['verify', '-CAfile', central.caFile, made.certFile]);
    expect(readFileSync(made.caFile, 'utf8')).toBe(readFileSync(central.caFile, 'utf8'));
    expect(statSync(made.keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(made.dir, 'site_bridge_ecole_7.h'))).toBe(false);

    for (const [args, message] of [
      [['--site-bridge', 'Ecole 7'], /needs a school id/],
      [['site-bridge-ecole-8'], /school bridge's identity: use --site-bridge ecole-8/],
      [['--bridge', 'site-bridge-ecole-8'], /use --site-bridge/],
      [['--site-bridge', 'ecole-7'], /already exists/],
    ] as const) {
      const r = await runScript('clients-certs.sh', [...args], { PKI_DIR: central.dir });
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});
