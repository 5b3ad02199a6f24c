/** Whether the broker certificate covers MQTT_HOST: OpenSSL's matching on real certificates. */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanCovers, sanNames, sanResult } from '../../src/ops/doctor/broker-checks.js';
import { formatResult } from '../../src/ops/doctor/check.js';

let dir: string;

function selfSigned(name: string, san: string | undefined, cn = 'mosquitto'): X509Certificate {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${cn}`];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  execFileSync('openssl', args, { stdio: 'ignore' });
  return new X509Certificate(readFileSync(crt));
}

let broker: X509Certificate;
let wildcard: X509Certificate;
let noSan: X509Certificate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-doctor-san-'));
  broker = selfSigned('broker', 'DNS:mosquitto,IP:192.168.42.10,IP:::1,DNS:serre.lycee.local');
  wildcard = selfSigned('wildcard', 'DNS:*.lycee.local');
  noSan = selfSigned('nosan', undefined, 'legacy.lycee.local');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('sanNames', () => {
  it('lists the entries as server-certs.sh writes them', () => {
    expect(sanNames(broker.subjectAltName)).toEqual(['DNS:mosquitto', 'IP:192.168.42.10', 'IP:0:0:0:0:0:0:0:1', 'DNS:serre.lycee.local']);
    expect(sanNames(undefined)).toEqual([]);
  });
});

describe('sanCovers', () => {
  it('accepts an IP address only as an IP entry', () => {
    expect(sanCovers(broker, '192.168.42.10')).toBe(true);
    expect(sanCovers(broker, '192.168.42.11')).toBe(false);
    expect(sanCovers(broker, '::1')).toBe(true);
    expect(sanCovers(broker, '[::1]')).toBe(true);
  });

  it('accepts a host name only as a DNS entry, case-insensitively', () => {
    expect(sanCovers(broker, 'mosquitto')).toBe(true);
    expect(sanCovers(broker, 'SERRE.lycee.local')).toBe(true);
    expect(sanCovers(broker, 'localhost')).toBe(false);
    expect(sanCovers(broker, 'mosquitto.lycee.local')).toBe(false);
  });

  it('follows wildcard rules: one label only', () => {
    expect(sanCovers(wildcard, 'broker.lycee.local')).toBe(true);
    expect(sanCovers(wildcard, 'a.b.lycee.local')).toBe(false);
    expect(sanCovers(wildcard, 'lycee.local')).toBe(false);
  });

  it('falls back to the CN when there is no SAN at all', () => {
    expect(sanCovers(noSan, 'legacy.lycee.local')).toBe(true);
    expect(sanCovers(noSan, 'other.lycee.local')).toBe(false);
  });
});

describe('sanResult', () => {
  it('shows the names and the command that adds MQTT_HOST when it is missing', () => {
    const line = formatResult(sanResult(broker, '10.0.0.5'));
    expect(line).toMatch(/^✘ Broker certificate SAN: MQTT_HOST 10\.0\.0\.5 is not in the broker certificate \(DNS:mosquitto, IP:192\.168\.42\.10/);
    expect(line).toContain('`mosquitto/server-certs.sh <LAN_IP> 10.0.0.5`');
  });

  it('passes when it is covered', () => {
    expect(formatResult(sanResult(broker, '192.168.42.10'))).toMatch(/^✔ Broker certificate SAN: MQTT_HOST 192\.168\.42\.10 is in/);
  });
});
