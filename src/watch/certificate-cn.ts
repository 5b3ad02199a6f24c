/**
 * The CN of the bridge's client certificate: Mosquitto (use_identity_as_username) takes it as
 * the username its ACL is written for, so it is what an operator must look for in the ACL.
 */
import { readCertificate } from '../tls/certificates.js';

/** The subject's CN, or undefined when the file cannot be read or has none. */
export function certificateCommonName(file: string): string | undefined {
  try {
    const line = readCertificate(file)
      .subject.split('\n')
      .find((l) => l.startsWith('CN='));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}
