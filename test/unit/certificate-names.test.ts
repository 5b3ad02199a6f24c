/** The CN of a certificate, one function for the doctor's messages and the greenhouse watch's ACL hint. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonName as doctorCommonName } from '../../src/ops/doctor/cert-checks.js';
import { commonName, readCertificate, subjectCommonName } from '../../src/tls/certificates.js';
import { certificateCommonName } from '../../src/watch/certificate-cn.js';

let dir: string;
const file = (name: string) => join(dir, name);

/** A self-signed certificate with this subject (EC: quick to make). */
function makeCertificate(name: string, subject: string): string {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '1', '-subj', subject], { stdio: 'ignore' });
  return file(`${name}.crt`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-cert-names-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('certificate names', () => {
  it('reads the CN among other subject fields', () => {
    const crt = makeCertificate('bridge', '/O=SIGACS Parc/CN=mqtt-bridge/OU=serres');
    expect(certificateCommonName(crt)).toBe('mqtt-bridge');
    expect(commonName(readCertificate(crt))).toBe('mqtt-bridge');
    expect(doctorCommonName).toBe(commonName);
  });

  it('has no CN for a subject without one, and names it by its subject in messages', () => {
    const crt = makeCertificate('anonymous', '/O=SIGACS Parc/OU=serres');
    expect(certificateCommonName(crt)).toBeUndefined();
    expect(subjectCommonName(readCertificate(crt))).toBeUndefined();
    expect(commonName(readCertificate(crt))).toBe('O=SIGACS Parc, OU=serres');
  });

  it('gives the watch nothing for a file that is not a certificate', () => {
    expect(certificateCommonName(file('missing.crt'))).toBeUndefined();
  });
});
