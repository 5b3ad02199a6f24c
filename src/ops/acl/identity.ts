/**
 * What may go into a generated ACL file as a certificate's CN (a controller's MAC is checked by
 * the bridge's own normaliseMac, src/decode/topic.ts). Both end up in `user` and `topic` lines,
 * so anything else (a blank, a newline, a wildcard) is refused rather than written: a value from
 * the database must never add a rule of its own.
 */

/** The names mosquitto/clients-certs.sh issues; the original README's CNs (m5-serre-1) fit. */
const CN = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$/;
/** Identities that have their own block in every ACL: a controller may never be one of them. */
export const RESERVED_CNS = ['mqtt-bridge', 'parc-bridge', 'mosquitto'] as const;

/** A school's id: a topic level of ecole/<id>/ and part of its bridge's CN (clients-certs.sh --site-bridge). */
const SCHOOL_ID = /^[a-z0-9-]{1,32}$/;
/** The CN of a school broker's bridge at the central broker: site-bridge-<school id>. */
export const SITE_BRIDGE_PREFIX = 'site-bridge-';

export function siteBridgeCn(school: string): string {
  return `${SITE_BRIDGE_PREFIX}${school}`;
}

/** Why `id` cannot be a school id, or undefined when it can. */
export function schoolIdProblem(id: string): string | undefined {
  return SCHOOL_ID.test(id) ? undefined : `"${id}" is not a school id (a-z, 0-9, '-', at most 32, e.g. ecole-1)`;
}

/** True when `cn` may be written as a `user` line. */
export function isCertificateName(cn: string): boolean {
  return CN.test(cn);
}

/** Why `cn` cannot be a controller's username in the ACL, or undefined when it can. */
export function cnProblem(cn: string): string | undefined {
  if (!isCertificateName(cn)) return `"${cn}" is not a certificate name clients-certs.sh accepts (letters, digits, ':', '-', '_', '.', at most 64)`;
  if ((RESERVED_CNS as readonly string[]).includes(cn)) return `"${cn}" is the bridge's or the broker's identity, not a controller's`;
  if (cn.startsWith(SITE_BRIDGE_PREFIX)) return `"${cn}" is a school broker's bridge identity, not a controller's`;
  return undefined;
}
