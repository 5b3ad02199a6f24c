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
