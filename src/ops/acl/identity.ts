/**
 * What may go into a generated ACL file: a controller's MAC and a certificate's CN. Both end up
 * in `user` and `topic` lines, so anything else (a blank, a newline, a wildcard) is refused
 * rather than written: a value from the database must never add a rule of its own.
 */

const MAC = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/i;
/** The names mosquitto/clients-certs.sh issues; the original README's CNs (m5-serre-1) fit. */
const CN = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$/;
/** Identities that have their own block in every ACL: a controller may never be one of them. */
export const RESERVED_CNS = ['mqtt-bridge', 'parc-bridge', 'mosquitto'] as const;

/** The MAC upper-case, as controllers publish it and the bridge stores it; undefined when not a MAC. */
export function normaliseMac(text: string): string | undefined {
  const mac = text.trim();
  return MAC.test(mac) ? mac.toUpperCase() : undefined;
}

/** Why `cn` cannot be a controller's username in the ACL, or undefined when it can. */
export function cnProblem(cn: string): string | undefined {
  if (!CN.test(cn)) return `"${cn}" is not a certificate name clients-certs.sh accepts (letters, digits, ':', '-', '_', '.', at most 64)`;
  if ((RESERVED_CNS as readonly string[]).includes(cn)) return `"${cn}" is the bridge's or the broker's identity, not a controller's`;
  return undefined;
}
