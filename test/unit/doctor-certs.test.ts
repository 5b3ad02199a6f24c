/** Certificate lines: validity windows, the 30-day warning, issuer and key match, on real files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCa, checkClientCert, checkIssuer, checkKeyMatches, readCertificateFile, validityResult } from '../../src/ops/doctor/cert-checks.js';
import { formatResult } from '../../src/ops/doctor/check.js';

const DAY = 86_400_000;
let dir: string;
const file = (name: string) => join(dir, name);
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-doctor-certs-'));
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`), '-days', '3650', '-subj', '/CN=Parc MQTT CA']);
  }
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('client.key'), '-out', file('client.csr'), '-subj', '/CN=parc-bridge']);
  writeFileSync(file('client.ext'), 'basicConstraints=critical,CA:FALSE\n');
  openssl(['x509', '-req', '-in', file('client.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', '7', '-days', '100', '-extfile', file('client.ext'), '-out', file('client.crt')]);
  openssl(['genrsa', '-out', file('stray.key'), '2048']);
  writeFileSync(file('garbage.crt'), 'not a certificate\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('validity', () => {
  it('passes, warns under 30 days, fails once expired or not yet valid', () => {
    const cert = readCertificateFile(file('client.crt'));
    const end = Date.parse(cert.validTo);
    const line = (now: number) => formatResult(validityResult('Client certificate (MQTT_CERT_FILE)', cert, 'client.crt', now, 'renew it'));
    expect(line(end - 60 * DAY)).toMatch(/^✔ .*client\.crt \(CN=parc-bridge\) valid until \d{4}-\d\d-\d\d \(60 days left\)$/);
    expect(line(end - 10 * DAY)).toMatch(/^⚠ .*expires in 10 day\(s\).* → renew it$/);
    expect(line(end + DAY)).toMatch(/^✘ .*expired on \d{4}-\d\d-\d\d → renew it$/);
    expect(line(Date.parse(cert.validFrom) - DAY)).toMatch(/^✘ .*is not valid before .* → check this machine's clock/);
  });
});

describe('files', () => {
  it('checks that the CA is a CA and the client certificate is readable', () => {
    expect(formatResult(checkCa(file('ca.crt'), Date.now()).result)).toMatch(/^✔ CA certificate \(MQTT_CA_FILE\): .*CN=Parc MQTT CA/);
    expect(formatResult(checkCa(file('client.crt'), Date.now()).result)).toMatch(/^✘ CA certificate \(MQTT_CA_FILE\): .* is not a CA certificate/);
    expect(formatResult(checkClientCert(file('garbage.crt'), Date.now()).result)).toMatch(/^✘ Client certificate \(MQTT_CERT_FILE\): cannot read a PEM certificate/);
  });

  it('tells a certificate of our CA from one of another CA with the same name', () => {
    const cert = readCertificateFile(file('client.crt'));
    expect(formatResult(checkIssuer(cert, readCertificateFile(file('ca.crt'))))).toMatch(/^✔ Client certificate issuer: CN=parc-bridge is signed by/);
    expect(formatResult(checkIssuer(cert, readCertificateFile(file('other-ca.crt'))))).toMatch(
      /^✘ Client certificate issuer: CN=parc-bridge was issued by another CA with the same name .* → the broker will refuse it/,
    );
  });

  it('matches the key with the certificate and never prints the key', () => {
    const cert = readCertificateFile(file('client.crt'));
    expect(formatResult(checkKeyMatches(cert, file('client.key')))).toMatch(/^✔ Client key \(MQTT_KEY_FILE\): .*client\.key matches/);
    const stray = formatResult(checkKeyMatches(cert, file('stray.key')));
    expect(stray).toMatch(/^✘ Client key \(MQTT_KEY_FILE\): .*stray\.key is not the key of the client certificate CN=parc-bridge/);
    expect(formatResult(checkKeyMatches(cert, file('client.crt')))).toMatch(/^✘ Client key \(MQTT_KEY_FILE\): cannot read a private key/);
    expect(stray).not.toContain('PRIVATE KEY');
  });
});
