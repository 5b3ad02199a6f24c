import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { commonName, daysUntilExpiry, readCertificate } from '../../tls/certificates.js';
import { errorText, fail, ok, warn, type CheckResult } from './check.js';

// Named here too for the other doctor checks, which take them from this file.
export { commonName, readCertificate as readCertificateFile };

/** The bridge's own certificate files, checked offline before anything talks to the broker. */

export const CA_LABEL = 'CA certificate (MQTT_CA_FILE)';
export const CERT_LABEL = 'Client certificate (MQTT_CERT_FILE)';
export const ISSUER_LABEL = 'Client certificate issuer';
export const KEY_LABEL = 'Client key (MQTT_KEY_FILE)';

/** Certificates this close to their end get a warning: time enough to reissue and deploy. */
export const EXPIRY_WARNING_DAYS = 30;

const NEW_BRIDGE_CERT = 'issue a new one with `mosquitto/clients-certs.sh --force --bridge` and restart the bridge';

export function isoDay(date: string): string {
  return new Date(date).toISOString().slice(0, 10);
}

/** ok / warn / fail for a certificate's validity period at `now`. */
export function validityResult(label: string, cert: X509Certificate, file: string, now: number, renew: string): CheckResult {
  const what = `${file} (CN=${commonName(cert)})`;
  if (Date.parse(cert.validFrom) > now) {
    return fail(label, `${what} is not valid before ${isoDay(cert.validFrom)}`, `check this machine's clock, or ${renew}`);
  }
  const days = daysUntilExpiry(cert, now);
  if (Date.parse(cert.validTo) <= now) return fail(label, `${what} expired on ${isoDay(cert.validTo)}`, renew);
  if (days < EXPIRY_WARNING_DAYS) return warn(label, `${what} expires in ${days} day(s), on ${isoDay(cert.validTo)}`, renew);
  return ok(label, `${what} valid until ${isoDay(cert.validTo)} (${days} days left)`);
}

function unreadable(label: string, file: string, err: unknown, fix: string): CheckResult {
  return fail(label, `cannot read a PEM certificate from ${file}: ${errorText(err)}`, fix);
}

export function checkCa(caFile: string, now: number): { result: CheckResult; ca?: X509Certificate } {
  const renew = 'a new CA means new certificates for the broker and every device (mosquitto/server-certs.sh, clients-certs.sh)';
  let ca: X509Certificate;
  try {
    ca = readCertificate(caFile);
  } catch (err) {
    return { result: unreadable(CA_LABEL, caFile, err, 'point MQTT_CA_FILE at the ca.crt made by mosquitto/server-certs.sh') };
  }
  if (!ca.ca) {
    return { result: fail(CA_LABEL, `${caFile} (CN=${commonName(ca)}) is not a CA certificate`, 'point MQTT_CA_FILE at ca.crt, not at a client or server certificate'), ca };
  }
  return { result: validityResult(CA_LABEL, ca, caFile, now, renew), ca };
}

export function checkClientCert(certFile: string, now: number): { result: CheckResult; cert?: X509Certificate } {
  let cert: X509Certificate;
  try {
    cert = readCertificate(certFile);
  } catch (err) {
    return { result: unreadable(CERT_LABEL, certFile, err, 'point MQTT_CERT_FILE at the client.crt made by `mosquitto/clients-certs.sh --bridge`') };
  }
  return { result: validityResult(CERT_LABEL, cert, certFile, now, NEW_BRIDGE_CERT), cert };
}

/** The broker accepts only client certificates its CA signed; MQTT_CA_FILE should be that CA. */
export function checkIssuer(cert: X509Certificate, ca: X509Certificate): CheckResult {
  const signed = cert.checkIssued(ca) && cert.verify(ca.publicKey);
  if (signed) return ok(ISSUER_LABEL, `CN=${commonName(cert)} is signed by the CA CN=${commonName(ca)}`);
  // Two PKIs made by the same script have CAs with the same name: only the key tells them apart.
  const issuer =
    cert.issuer === ca.subject
      ? `by another CA with the same name (CN=${commonName(ca)}), not by the one in MQTT_CA_FILE (fingerprint ${ca.fingerprint256.slice(0, 23)}…)`
      : `by "${cert.issuer.replace(/\n/g, ', ')}", not by the CA in MQTT_CA_FILE (CN=${commonName(ca)})`;
  return fail(
    ISSUER_LABEL,
    `CN=${commonName(cert)} was issued ${issuer}`,
    `the broker will refuse it: ${NEW_BRIDGE_CERT}, using the PKI_DIR of the broker's CA`,
  );
}

export function checkKeyMatches(cert: X509Certificate, keyFile: string): CheckResult {
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
  } catch (err) {
    // Only the error is shown: a key file's content never goes to the output.
    return fail(KEY_LABEL, `cannot read a private key from ${keyFile}: ${errorText(err)}`, 'point MQTT_KEY_FILE at the unencrypted client.key made with the certificate');
  }
  if (matches) return ok(KEY_LABEL, `${keyFile} matches the client certificate`);
  return fail(
    KEY_LABEL,
    `${keyFile} is not the key of the client certificate CN=${commonName(cert)}`,
    'use the client.key made together with MQTT_CERT_FILE (same folder), or issue both again with `mosquitto/clients-certs.sh --force --bridge`',
  );
}
