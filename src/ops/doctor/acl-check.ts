import { readFileSync } from 'node:fs';
import { subscriptions } from '../../mqtt/topics.js';
import { errorText, fail, ok, skip, warn, type CheckResult } from './check.js';
import { parseAclFile, readVerdict, type AclClient, type ReadVerdict } from './mosquitto-acl.js';

/**
 * Whether the broker's ACL (MQTT_ACL_FILE) lets the bridge's identity read what it subscribes
 * to. A bridge the ACL does not let read connects and subscribes without any error, then
 * receives nothing: this line is the only place that says so before the readings go missing.
 */

export const ACL_LABEL = 'Broker ACL (MQTT_ACL_FILE)';

/** The filters the bridge reads, without a shared-subscription prefix (the ACL sees message topics). */
export const BRIDGE_FILTERS = subscriptions('');

function describe(filter: string, v: ReadVerdict): string {
  const where = v.lines.length > 0 ? ` (line${v.lines.length > 1 ? 's' : ''} ${v.lines.join(', ')})` : '';
  return v.verdict === 'allowed' ? `${filter}${where}` : `${filter}: ${v.reason ?? v.verdict}${where}`;
}

/**
 * `username` is the name the broker gives the bridge: its certificate's CN with
 * use_identity_as_username. `filters`: a bridge serving several schools reads each school's.
 */
export function aclResult(aclFile: string, text: string, client: AclClient, filters: readonly string[] = BRIDGE_FILTERS): CheckResult {
  const acl = parseAclFile(text);
  const who = `CN=${client.username}`;
  const verdicts = filters.map((filter) => ({ filter, v: readVerdict(acl, client, filter) }));
  const denied = verdicts.filter(({ v }) => v.verdict === 'denied');
  const partly = verdicts.filter(({ v }) => v.verdict === 'partly');
  const broken = acl.problems.length > 0 ? `; Mosquitto would refuse this file: ${acl.problems.join('; ')}` : '';
  const addLines = `add to ${aclFile}: "user ${client.username}" followed by ${filters.map((f) => `"topic read ${f}"`).join(', ')} (as in the shipped mosquitto/config/acl), then restart Mosquitto`;

  if (denied.length > 0) {
    return fail(
      ACL_LABEL,
      `${who} may not read ${denied.map(({ filter, v }) => describe(filter, v)).join('; ')} in ${aclFile}: the bridge would connect and subscribe, then receive nothing of these${broken}`,
      addLines,
    );
  }
  if (partly.length > 0) {
    return warn(ACL_LABEL, `${who} may read only part of ${partly.map(({ filter, v }) => describe(filter, v)).join('; ')} in ${aclFile}${broken}`, addLines);
  }
  const readable =
    verdicts.length > BRIDGE_FILTERS.length
      ? `${who} may read all ${verdicts.length} filters of the schools (${filters[0]}, …) in ${aclFile}`
      : `${who} may read ${verdicts.map(({ filter, v }) => describe(filter, v)).join(', ')} in ${aclFile}`;
  if (broken) return warn(ACL_LABEL, `${readable}${broken}`, 'fix the lines named above: Mosquitto does not start with them');
  return ok(ACL_LABEL, readable);
}

export function checkAcl(aclFile: string | undefined, client: AclClient | undefined, filters: readonly string[] = BRIDGE_FILTERS): CheckResult {
  if (!client) return skip(ACL_LABEL, 'needs a readable client certificate (its CN is the broker username)');
  if (!aclFile) {
    return skip(ACL_LABEL, `set MQTT_ACL_FILE to the broker's acl_file (e.g. mosquitto/config/acl) to check that CN=${client.username} may read the readings`);
  }
  let text: string;
  try {
    text = readFileSync(aclFile, 'utf8');
  } catch (err) {
    return fail(ACL_LABEL, `cannot read ${aclFile}: ${errorText(err)}`, "point MQTT_ACL_FILE at the broker's acl_file (mosquitto.conf names it)");
  }
  return aclResult(aclFile, text, client, filters);
}
