/**
 * The CN of the bridge's client certificate: Mosquitto (use_identity_as_username) takes it as
 * the username its ACL is written for, so it is what an operator must look for in the ACL.
 */
import { readCertificate, subjectCommonName } from '../tls/certificates.js';

/** The subject's CN, or undefined when the file cannot be read or has none. */
export function certificateCommonName(file: string): string | undefined {
  try {
    return subjectCommonName(readCertificate(file));
  } catch {
    return undefined;
  }
}
