import { ok, skip, warn, type CheckResult } from './check.js';
import type { BrokerTarget } from './broker-checks.js';
import type { ProbeResult } from './broker-probe.js';

/** The broker's version line, and what it means for a shared group (MQTT_SHARED_GROUP). */

export const VERSION_LABEL = 'Broker version';

/** "mosquitto version 2.0.11" -> [2, 0, 11]; undefined for another broker or format. */
export function mosquittoVersion(text: string): [number, number, number] | undefined {
  const m = /^mosquitto version (\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Whether a broker keeps the $share subscriptions of persistent sessions across its own
 * restart. Mosquitto 2.0 does not: its persistence file holds plain subscriptions only (read in
 * 2.0.11's and 2.0.21's persist__subs_save), and a restart measured on both dropped them
 * (test/integration/site-shared-groups.test.ts). The "$share subscriptions not being recovered
 * for durable clients that reconnect" fixed in 2.0.12 is a client reconnecting, not a restart.
 */
export function sharedSubscriptionsSurviveRestart(version: readonly number[] | undefined): 'no' | 'unknown' {
  return version !== undefined && (version[0]! < 2 || (version[0] === 2 && version[1] === 0)) ? 'no' : 'unknown';
}

/**
 * The broker's version and, with MQTT_SHARED_GROUP, whether a broker restart loses the group's
 * subscriptions: the readings published until each bridge subscribes again then reach no one.
 */
export function versionResult(target: BrokerTarget, probe: ProbeResult): CheckResult {
  if (!probe.connack) return skip(VERSION_LABEL, 'needs an MQTT connection');
  const group = target.sharedGroup ? `MQTT_SHARED_GROUP=${target.sharedGroup}` : '';
  const split = 'or unset MQTT_SHARED_GROUP and give each bridge its own schools, plain subscriptions that a broker restart keeps (deploy/site-broker/README.md, "Scaling out the central side")';
  const text = probe.brokerVersion?.trim();
  if (text === undefined) {
    const who = target.identity ? `CN=${target.identity}` : 'the bridge';
    if (!group) return skip(VERSION_LABEL, `$SYS/broker/version did not come back (the broker's ACL probably does not let ${who} read it)`);
    return warn(
      VERSION_LABEL,
      `${group}, and the broker's version is unknown ($SYS/broker/version did not come back): Mosquitto 2.0 loses a shared group's subscriptions at every broker restart`,
      `add "topic read $SYS/broker/version" under "user ${target.identity ?? '<CN>'}" in the broker's acl (as in the shipped mosquitto/config/acl), or check the version yourself (mosquitto -h)`,
    );
  }
  if (!group) return ok(VERSION_LABEL, text);
  if (sharedSubscriptionsSurviveRestart(mosquittoVersion(text)) === 'no') {
    return warn(
      VERSION_LABEL,
      `${text} with ${group}: Mosquitto 2.0 does not keep $share subscriptions across its own restart (they are not in its persistence file), so the readings published until each bridge subscribes again reach no one (lost)`,
      `restart the broker only with the bridges stopped, ${split}`,
    );
  }
  return warn(VERSION_LABEL, `${text} with ${group}: not measured here whether this broker keeps $share subscriptions of persistent sessions across its restart`, `restart it while readings flow and count them, ${split}`);
}
