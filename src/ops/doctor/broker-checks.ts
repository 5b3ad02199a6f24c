import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { CheckTimeout, errorText, fail, ok, skip, warn, type CheckResult } from './check.js';
import { commonName, EXPIRY_WARNING_DAYS, isoDay } from './cert-checks.js';
import type { ProbeResult } from './broker-probe.js';

/** Turns one broker probe into the lines a user reads: TLS handshake, SAN, MQTT CONNECT, delivered QoS. */

export const TLS_LABEL = 'Broker TLS handshake';
export const SAN_LABEL = 'Broker certificate SAN';
export const MQTT_LABEL = 'MQTT CONNECT';
export const QOS_LABEL = 'Broker QoS to the bridge';

export interface BrokerTarget {
  host: string;
  port: number;
  tls: boolean;
  clientId: string;
  /** The CN of the bridge's certificate: the broker's username for it with use_identity_as_username. */
  identity: string | undefined;
  /** The topic of the QoS probe. */
  qosProbeTopic: string;
  /** MQTT_SHARED_GROUP; empty or absent when the bridge runs alone. */
  sharedGroup?: string;
}

/** "DNS:mosquitto, IP Address:127.0.0.1" -> ["DNS:mosquitto", "IP:127.0.0.1"]. */
export function sanNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .map((entry) => entry.trim().replace(/^IP Address:/, 'IP:'))
    .filter((entry) => entry.length > 0);
}

/**
 * Whether a client connecting to `host` accepts this certificate, by OpenSSL's own rules: an IP
 * address must be an IP entry of the SAN, a name must match a DNS entry (wildcards included).
 */
export function sanCovers(cert: Pick<X509Certificate, 'checkHost' | 'checkIP'>, host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) !== 0 ? cert.checkIP(bare) !== undefined : cert.checkHost(bare) !== undefined;
}

export function sanResult(cert: X509Certificate, host: string): CheckResult {
  const names = sanNames(cert.subjectAltName);
  const listed = names.length > 0 ? names.join(', ') : 'no subjectAltName at all';
  if (sanCovers(cert, host)) return ok(SAN_LABEL, `MQTT_HOST ${host} is in the broker certificate (${listed})`);
  return fail(
    SAN_LABEL,
    `MQTT_HOST ${host} is not in the broker certificate (${listed}); the bridge would refuse the broker`,
    `set MQTT_HOST to one of those names, or reissue the broker certificate with it: \`mosquitto/server-certs.sh <LAN_IP> ${host}\` and restart Mosquitto`,
  );
}

const CA_MISMATCH = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

function code(err: Error): string {
  return String((err as { code?: unknown }).code ?? '');
}

/** What to do about an error, by the step it happened in. */
export function brokerFix(phase: 'connect' | 'tls' | 'mqtt', err: Error): string {
  const c = code(err);
  if (err instanceof CheckTimeout) return 'the broker did not answer in time: check MQTT_HOST and MQTT_PORT, and that no firewall drops the packets';
  if (phase === 'connect') {
    if (c === 'ECONNREFUSED') return 'nothing listens there: is Mosquitto running? check MQTT_HOST and MQTT_PORT (8883 for mTLS)';
    if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return 'MQTT_HOST does not resolve: check its spelling or DNS';
    return 'check MQTT_HOST and MQTT_PORT, and the network between this machine and the broker';
  }
  if (phase === 'tls') {
    if (CA_MISMATCH.has(c)) return "the broker's certificate is not signed by MQTT_CA_FILE: use the ca.crt of the PKI that made the broker's certificate";
    if (c === 'CERT_HAS_EXPIRED') return "the broker's certificate expired: `mosquitto/server-certs.sh <LAN_IP>` makes a new one; restart Mosquitto";
    if (c === 'CERT_NOT_YET_VALID') return "the broker's certificate is not valid yet: check the clocks of this machine and the broker";
    if (/key values mismatch/i.test(err.message)) return 'MQTT_KEY_FILE is not the key of MQTT_CERT_FILE (see the client key line)';
    if (c === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'that port does not speak TLS: check MQTT_PORT (8883) or MQTT_TLS';
    if (/alert/i.test(err.message) || c.includes('ALERT')) {
      return "the broker refused the bridge's client certificate (see the client certificate lines; the broker's log says why)";
    }
    return "check MQTT_CA_FILE, MQTT_CERT_FILE and MQTT_KEY_FILE, and the broker's log";
  }
  if (/username is required to use password/i.test(err.message)) {
    return 'MQTT_PASSWORD is set without MQTT_USER: set both or neither (the shipped broker takes the identity from the certificate)';
  }
  if (/not authorized|bad user name or password/i.test(err.message)) {
    return 'the broker refused the login: with use_identity_as_username the certificate CN must be allowed by the ACL';
  }
  if (/identifier rejected/i.test(err.message)) return 'the broker refused the client id: check MQTT_CLIENT_ID';
  return "the broker closed the connection: look at the broker's log for this client id";
}

export function brokerResults(target: BrokerTarget, probe: ProbeResult, now: number): CheckResult[] {
  const where = `${target.host}:${target.port}`;
  const failure = probe.failure;
  const results: CheckResult[] = [];

  if (!target.tls) {
    results.push(warn(TLS_LABEL, 'MQTT_TLS=false: the connection to the broker is not encrypted', 'set MQTT_TLS=true; the shipped broker only accepts mutual TLS'));
  } else if (failure && failure.phase !== 'mqtt') {
    const stage = failure.phase === 'connect' ? `cannot reach ${where}` : `TLS with ${where} failed`;
    results.push(fail(TLS_LABEL, `${stage}: ${errorText(failure.error)}`, brokerFix(failure.phase, failure.error)));
  } else if (probe.secured) {
    const peer = probe.secured.peer;
    const who = peer ? `broker certificate CN=${commonName(peer)} (valid until ${isoDay(peer.validTo)}) verified with MQTT_CA_FILE` : 'broker verified';
    const accepted = probe.connack ? '; the broker accepted the client certificate' : '';
    const detail = `${where}, ${probe.secured.protocol ?? 'TLS'}, ${who}${accepted}`;
    const soon = peer !== undefined && Date.parse(peer.validTo) - now < EXPIRY_WARNING_DAYS * 86_400_000;
    results.push(soon ? warn(TLS_LABEL, `${detail}; it expires soon`, 'reissue it with `mosquitto/server-certs.sh <LAN_IP>` and restart Mosquitto') : ok(TLS_LABEL, detail));
  }

  const peer = probe.secured?.peer;
  if (!target.tls) results.push(skip(SAN_LABEL, 'MQTT_TLS=false'));
  else if (peer) results.push(sanResult(peer, target.host));
  else results.push(skip(SAN_LABEL, 'no broker certificate was received'));

  if (probe.connack) {
    const who = target.identity ? `certificate CN=${target.identity} (the username the ACL sees), ` : '';
    results.push(ok(MQTT_LABEL, `the broker accepted ${who}client id ${target.clientId} (clean session; the bridge's own session is left alone)`));
  } else if (failure?.phase === 'mqtt') {
    results.push(fail(MQTT_LABEL, `client id ${target.clientId}: ${errorText(failure.error)}`, brokerFix('mqtt', failure.error)));
  } else if (!target.tls && failure) {
    results.push(fail(MQTT_LABEL, `cannot reach ${where}: ${errorText(failure.error)}`, brokerFix(failure.phase, failure.error)));
  } else {
    results.push(skip(MQTT_LABEL, 'needs a working TLS connection'));
  }
  results.push(qosResult(target, probe));
  return results;
}

/** Whether the broker hands QoS 0 publications to the bridge's QoS 1 subscription at QoS 1. */
export function qosResult(target: BrokerTarget, probe: ProbeResult): CheckResult {
  const qos = probe.qosProbe;
  if (!probe.connack || !qos) return skip(QOS_LABEL, 'needs an MQTT connection');
  if (qos.deliveredQos === undefined) {
    const who = target.identity ? `CN=${target.identity}` : 'the bridge';
    const why = qos.error ? errorText(qos.error) : `it did not come back; the broker's ACL probably does not let ${who} publish and read it`;
    return warn(
      QOS_LABEL,
      `a probe published at QoS 0 on ${target.qosProbeTopic}: ${why}, so the QoS the broker delivers readings at is unknown`,
      `add "topic readwrite parc-bridge/doctor/#" under "user ${target.identity ?? '<CN>'}" in the broker's acl (as in the shipped mosquitto/config/acl), or check that mosquitto.conf has upgrade_outgoing_qos true`,
    );
  }
  if (qos.deliveredQos === 0) {
    return warn(
      QOS_LABEL,
      'a probe published at QoS 0 reached the QoS 1 subscription at QoS 0: the readings of QoS 0 devices (PubSubClient) are not queued while the bridge is away and are lost at every bridge restart',
      'add "upgrade_outgoing_qos true" to mosquitto.conf (the shipped one has it) and restart Mosquitto',
    );
  }
  return ok(QOS_LABEL, `a probe published at QoS 0 reached the QoS 1 subscription at QoS ${qos.deliveredQos}: the broker queues QoS 0 readings while the bridge is away`);
}
