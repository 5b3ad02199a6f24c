/**
 * The certificate scripts of mosquitto/, run for real with openssl: what they produce, what
 * they refuse, and check-cert.sh's verdicts.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clientPaths,
  makeExpiredCert,
  makeForeignCert,
  makePki,
  runScript,
  type CertPair,
  type Pki,
} from '../helpers/pki.js';
import { tempDir } from '../helpers/cleanup.js';

const MAC = 'A4:CF:12:34:56:78';
const LAN_IP = '192.168.42.10';

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function cert(file: string): X509Certificate {
  return new X509Certificate(readFileSync(file));
}

function mode(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

const DAY_MS = 86_400_000;
function validityDays(c: X509Certificate): number {
  return (Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY_MS;
}

function expectGoodKey(pair: CertPair): void {
  const pem = readFileSync(pair.keyFile, 'utf8');
  expect(pem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'), `${pair.keyFile} is PKCS#1`).toBe(true);
  expect(openssl('rsa', '-in', pair.keyFile, '-noout', '-text')).toMatch(/Private-Key: \(2048 bit/);
  expect(mode(pair.keyFile)).toBe('600');
  const certModulus = openssl('x509', '-in', pair.certFile, '-noout', '-modulus');
  const keyModulus = openssl('rsa', '-in', pair.keyFile, '-noout', '-modulus');
  expect(certModulus).toMatch(/^Modulus=[0-9A-F]{512}\n$/);
  expect(keyModulus).toBe(certModulus);
}

function expectVerifies(caFile: string, certFile: string): void {
  expect(openssl('verify', '-CAfile', caFile, certFile).trim()).toBe(`${certFile}: OK`);
}

describe('server-certs.sh', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki({ serverNames: [LAN_IP, 'serre.lycee.local'] });
  });

  it('makes a 10-year CA and a CN=mosquitto broker certificate that openssl verify accepts', () => {
    const ca = cert(pki.caFile);
    expect(ca.ca).toBe(true);
    expect(Math.round(validityDays(ca))).toBe(3650);
    expectVerifies(pki.caFile, pki.server.certFile);

    const server = cert(pki.server.certFile);
    expect(server.subject).toBe('CN=mosquitto');
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(validityDays(server)).toBeLessThanOrEqual(825);
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('puts DNS:mosquitto, every given IP and name in the SAN', () => {
    const san = cert(pki.server.certFile).subjectAltName?.split(', ') ?? [];
    expect(san).toEqual([
      'DNS:mosquitto',
      'IP Address:127.0.0.1',
      'DNS:localhost',
      `IP Address:${LAN_IP}`,
      'DNS:serre.lycee.local',
    ]);
  });

  it('writes RSA 2048 PKCS#1 keys, mode 600, matching their certificates', () => {
    expectGoodKey({ certFile: pki.caFile, keyFile: path.join(pki.dir, 'server-certs', 'ca.key') });
    expectGoodKey(pki.server);
  });

  it('keeps the CA on a re-run and only replaces the broker certificate', async () => {
    const caBefore = readFileSync(pki.caFile);
    const caKeyBefore = readFileSync(path.join(pki.dir, 'server-certs', 'ca.key'));
    const serverBefore = readFileSync(pki.server.certFile);
    const r = await runScript('server-certs.sh', ['10.0.0.7'], { PKI_DIR: pki.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Keeping the existing CA/);
    expect(readFileSync(pki.caFile)).toEqual(caBefore);
    expect(readFileSync(path.join(pki.dir, 'server-certs', 'ca.key'))).toEqual(caKeyBefore);
    expect(readFileSync(pki.server.certFile)).not.toEqual(serverBefore);
    expect(cert(pki.server.certFile).subjectAltName).toBe('DNS:mosquitto, IP Address:10.0.0.7');
    expectVerifies(pki.caFile, pki.server.certFile);
    expectGoodKey(pki.server);
    // Put the test names back for the tests below.
    expect((await runScript('server-certs.sh', ['127.0.0.1', 'localhost'], { PKI_DIR: pki.dir })).code).toBe(0);
  });

  it.each([
    [[], /missing <LAN_IP>/],
    [['mosquitto'], /first argument must be the broker's LAN IP/],
    [['192.168.1.256'], /first argument must be the broker's LAN IP/],
    [['192.168.1.2', 'bad name'], /neither an IP address nor a DNS name/],
    [['192.168.1.2', '--force'], /neither an IP address nor a DNS name/],
    [['192.168.1.2', '*.example.org'], /neither an IP address nor a DNS name/],
  ])('refuses %j with a usage message and exit 2, creating nothing', async (args, message) => {
    const dir = await tempDir('parc-pki-bad-');
    const r = await runScript('server-certs.sh', args, { PKI_DIR: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Usage: server-certs\.sh <LAN_IP>/);
    expect(existsSync(path.join(dir, 'server-certs'))).toBe(false);
  });

  it('refuses to run with half a CA rather than replacing it', async () => {
    const dir = await tempDir('parc-pki-half-');
    expect((await runScript('server-certs.sh', ['10.0.0.1'], { PKI_DIR: dir })).code).toBe(0);
    unlinkSync(path.join(dir, 'server-certs', 'ca.key')); // a lost key: a new CA would orphan every device
    const r = await runScript('server-certs.sh', ['10.0.0.1'], { PKI_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/only one of ca\.crt \/ ca\.key exists/);
    expect(existsSync(path.join(dir, 'server-certs', 'ca.key'))).toBe(false);
  });

  it('writes the original layout, server-certs/{ca.crt,ca.key,server.crt,server.key}, plus the CRL and the CA index', async () => {
    const dir = await tempDir('parc-pki-layout-');
    expect((await runScript('server-certs.sh', ['10.0.0.1'], { PKI_DIR: dir })).code).toBe(0);
    expect(readdirSync(path.join(dir, 'server-certs')).sort()).toEqual(['ca-db', 'ca.crl', 'ca.crt', 'ca.key', 'server.crt', 'server.key']);
    expect(readdirSync(dir)).toEqual(['server-certs']);
  });

  it('refuses to make a second CA when an earlier version left one in certs/', async () => {
    const old = await tempDir('parc-pki-old-');
    expect((await runScript('server-certs.sh', ['10.0.0.1'], { PKI_DIR: old })).code).toBe(0);
    renameSync(path.join(old, 'server-certs'), path.join(old, 'certs'));
    for (const [script, args] of [['server-certs.sh', ['10.0.0.1']], ['clients-certs.sh', [MAC]]] as const) {
      const r = await runScript(script, [...args], { PKI_DIR: old });
      expect(r.code, script).toBe(1);
      expect(r.stderr, script).toMatch(/the CA is in .*\/certs, the folder of earlier versions.*mv .*\/certs .*\/server-certs/);
    }
    expect(readdirSync(old)).toEqual(['certs']);
  });
});

describe('clients-certs.sh', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });

  it('--bridge makes CN=mqtt-bridge at client-certs/client.{crt,key}, the original layout (its CA stays in server-certs/)', () => {
    const bridge = cert(pki.bridge.certFile);
    expect(bridge.subject).toBe('CN=mqtt-bridge');
    expect(bridge.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    expect(validityDays(bridge)).toBeLessThanOrEqual(825);
    expectVerifies(pki.caFile, pki.bridge.certFile);
    expectGoodKey(pki.bridge);
    expect(pki.caFile).toBe(path.join(pki.dir, 'server-certs', 'ca.crt'));
    expect(readdirSync(path.join(pki.dir, 'client-certs')).filter((f) => f.includes('.')).sort()).toEqual(['client.crt', 'client.key']);
  });

  it('--bridge parc-bridge still makes the identity of earlier versions, which the ACL keeps readable', async () => {
    const dir = await tempDir('parc-pki-old-bridge-');
    expect((await runScript('server-certs.sh', ['10.0.0.1'], { PKI_DIR: dir })).code).toBe(0);
    expect((await runScript('clients-certs.sh', ['--bridge', 'parc-bridge'], { PKI_DIR: dir })).code).toBe(0);
    expect(cert(path.join(dir, 'client-certs', 'client.crt')).subject).toBe('CN=parc-bridge');
  });

  it('makes a device identity in its own folder, CN = the MAC', async () => {
    const pair = await pki.client(MAC);
    const files = clientPaths(pki.dir, MAC);
    expect(pair).toEqual({ certFile: files.certFile, keyFile: files.keyFile });
    expect(cert(pair.certFile).subject).toBe(`CN=${MAC}`);
    expectVerifies(pki.caFile, pair.certFile);
    expectGoodKey(pair);
    expect(readFileSync(files.caFile)).toEqual(readFileSync(pki.caFile));
  });

  it('writes an Arduino header with the CA, certificate and key as PROGMEM raw strings', async () => {
    await pki.client(MAC);
    const header = path.join(clientPaths(pki.dir, MAC).dir, 'A4_CF_12_34_56_78.h');
    expect(mode(header)).toBe('600');
    const text = readFileSync(header, 'utf8');
    const strings = new Map<string, string>();
    for (const m of text.matchAll(/static const char (\w+)\[\] PROGMEM = R"EOF\(\n([\s\S]*?)\n\)EOF";/g)) {
      strings.set(m[1] ?? '', m[2] ?? '');
    }
    const files = clientPaths(pki.dir, MAC);
    expect([...strings.keys()]).toEqual(['ca_cert', 'client_cert', 'client_key']);
    expect(strings.get('ca_cert')).toBe(readFileSync(pki.caFile, 'utf8').trim());
    expect(strings.get('client_cert')).toBe(readFileSync(files.certFile, 'utf8').trim());
    expect(strings.get('client_key')).toBe(readFileSync(files.keyFile, 'utf8').trim());
    expect(strings.get('client_key')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(text).toContain(`static const char device_cn[] = "${MAC}";`);
  });

  it('the header compiles as C++ and its strings are byte for byte the PEM files', async (ctx) => {
    const gxx = ['g++', 'c++'].find((c) => {
      try {
        execFileSync(c, ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (!gxx) {
      ctx.skip();
      return;
    }
    await pki.client(MAC);
    const files = clientPaths(pki.dir, MAC);
    const work = await tempDir('parc-header-');
    // Stands in for the ESP32 core's Arduino.h: PROGMEM is a section attribute there.
    await writeFile(path.join(work, 'Arduino.h'), '#define PROGMEM\n');
    await writeFile(
      path.join(work, 'main.cpp'),
      `#include <cstdio>\n#include "${path.join(files.dir, 'A4_CF_12_34_56_78.h')}"\n` +
        'int main() { std::printf("%s\\x01%s\\x01%s\\x01%s", device_cn, ca_cert, client_cert, client_key); }\n',
    );
    execFileSync(gxx, ['-std=c++11', '-Wall', '-Werror', '-Wno-unused-variable', '-I', work, '-o', path.join(work, 'main'), path.join(work, 'main.cpp')]);
    const out = execFileSync(path.join(work, 'main'), { encoding: 'utf8' }).split('\x01');
    expect(out).toEqual([
      MAC,
      `\n${readFileSync(pki.caFile, 'utf8').trim()}\n`,
      `\n${readFileSync(files.certFile, 'utf8').trim()}\n`,
      `\n${readFileSync(files.keyFile, 'utf8').trim()}\n`,
    ]);
  });

  it('upper-cases a lower-case MAC, since the ACL compares it with the topic exactly', async () => {
    const r = await runScript('clients-certs.sh', ['a4:cf:12:00:00:09'], { PKI_DIR: pki.dir });
    expect(r.code).toBe(0);
    expect(cert(clientPaths(pki.dir, 'A4:CF:12:00:00:09').certFile).subject).toBe('CN=A4:CF:12:00:00:09');
  });

  it('refuses to overwrite an identity unless --force', async () => {
    const name = 'station-meteo_1.b';
    expect((await runScript('clients-certs.sh', [name], { PKI_DIR: pki.dir })).code).toBe(0);
    const { certFile } = clientPaths(pki.dir, name);
    const first = readFileSync(certFile);
    const again = await runScript('clients-certs.sh', [name], { PKI_DIR: pki.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force/);
    expect(readFileSync(certFile)).toEqual(first);

    const bridgeBefore = readFileSync(pki.bridge.certFile);
    const bridgeAgain = await runScript('clients-certs.sh', ['--bridge'], { PKI_DIR: pki.dir });
    expect(bridgeAgain.code).toBe(1);
    expect(readFileSync(pki.bridge.certFile)).toEqual(bridgeBefore);

    const forced = await runScript('clients-certs.sh', ['--force', name], { PKI_DIR: pki.dir });
    expect(forced.code).toBe(0);
    expect(readFileSync(certFile)).not.toEqual(first);
    expectVerifies(pki.caFile, certFile);
    expectGoodKey(clientPaths(pki.dir, name));
  });

  it.each([
    [[], /missing <name>/],
    [['..'], /invalid name/],
    [['../../etc'], /invalid name/],
    [['a/b'], /invalid name/],
    [['.hidden'], /invalid name/],
    [['with space'], /invalid name/],
    [['x'.repeat(65)], /invalid name/],
    [['--nope'], /unknown option/],
    [['one', 'two'], /one name at a time/],
    [['mosquitto'], /broker's own CN/],
    [['mqtt-bridge'], /bridge identity .*use --bridge/],
    [['parc-bridge'], /bridge identity .*use --bridge/],
  ])('refuses %j with a clear message and exit 2', async (args, message) => {
    const r = await runScript('clients-certs.sh', args, { PKI_DIR: pki.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Usage: clients-certs\.sh/);
  });

  it('says to run server-certs.sh first when there is no CA', async () => {
    const dir = await tempDir('parc-pki-empty-');
    const r = await runScript('clients-certs.sh', [MAC], { PKI_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no CA .*run server-certs\.sh <LAN_IP> first/);
    expect(existsSync(path.join(dir, 'client-certs'))).toBe(false);
  });
});

describe('check-cert.sh', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });

  it('passes a matching certificate, key and CA, showing subject, SAN and expiry', async () => {
    const r = await runScript('check-cert.sh', [pki.server.certFile, pki.server.keyFile, pki.caFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/subject: CN=mosquitto/);
    expect(r.stdout).toMatch(/SAN: +DNS:mosquitto, IP Address:127\.0\.0\.1, DNS:localhost/);
    expect(r.stdout).toMatch(/valid: .* -> .*GMT \(\d+ days left\)/);
    expect(r.stdout).toMatch(/OK +key matches the certificate/);
    expect(r.stdout).toMatch(/OK +chain verifies against the CA/);
    expect(r.stdout).toMatch(/All checks passed/);
  });

  it('finds the CA next to a device certificate by itself', async () => {
    const pair = await pki.client(MAC);
    const r = await runScript('check-cert.sh', [pair.certFile, pair.keyFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK +chain verifies/);
  });

  it('fails when the key belongs to another certificate', async () => {
    const r = await runScript('check-cert.sh', [pki.server.certFile, pki.bridge.keyFile, pki.caFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +key does NOT match the certificate/);
  });

  it('fails on a certificate from another CA', async () => {
    const foreign = await makeForeignCert();
    const r = await runScript('check-cert.sh', [foreign.certFile, foreign.keyFile, pki.caFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +chain does not verify/);
  });

  it('fails on an expired certificate', async () => {
    const expired = await makeExpiredCert(pki);
    const r = await runScript('check-cert.sh', [expired.certFile, expired.keyFile, pki.caFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +certificate has expired/);
    expect(r.stdout).toMatch(/FAIL +chain does not verify: .*expired/);
  });

  it.each([[[]], [['/nonexistent/cert.pem']], [['KEY']], [['a', 'b', 'c', 'd']]])(
    'refuses %j with exit 2',
    async (args) => {
      const resolved = args.map((a) => (a === 'KEY' ? pki.server.keyFile : a));
      const r = await runScript('check-cert.sh', resolved);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Usage: check-cert\.sh/);
    },
  );
});
