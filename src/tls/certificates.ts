import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

const DAY_MS = 86_400_000;

export function readCertificate(file: string): X509Certificate {
  return new X509Certificate(readFileSync(file));
}

/** Whole days until the certificate expires; negative once it has. */
export function daysUntilExpiry(cert: X509Certificate, now = Date.now()): number {
  return Math.floor((Date.parse(cert.validTo) - now) / DAY_MS);
}

/** The subject's CN (what Mosquitto's use_identity_as_username takes), or undefined without one. */
export function subjectCommonName(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
}

/** How a certificate is named in messages: its CN, or its whole subject when it has none. */
export function commonName(cert: X509Certificate): string {
  return subjectCommonName(cert) ?? cert.subject.replace(/\n/g, ', ');
}
