import { schoolIdProblem, siteBridgeCn } from './identity.js';

/**
 * Pure: the ACL lines of schools whose broker bridges to this one (deploy/site-broker): each
 * school's certificate may publish under its own ecole/<id>/ prefix only, and the bridge may
 * read what the schools publish. The topics are those the school broker's `topic … out 1 ""
 * ecole/<id>/` lines and its link notification produce.
 */

export interface SchoolTopics {
  readings: string;
  controller: string;
  lastWill: string;
  /** The school broker's bridge notification: 1 while its link is up, 0 once it is down. */
  linkState: string;
}

export function schoolTopics(school: string): SchoolTopics {
  const prefix = `ecole/${school}`;
  return {
    readings: `${prefix}/serre/+/bac/+`,
    controller: `${prefix}/controleur/+`,
    lastWill: `${prefix}/controleur/+/disconnect`,
    linkState: `${prefix}/bridge/state`,
  };
}

/** Every topic a school's broker publishes centrally. */
function allTopics(school: string): string[] {
  const t = schoolTopics(school);
  return [t.readings, t.controller, t.lastWill, t.linkState];
}

/** The schools' section of an ACL; an empty list says so in a comment rather than silently. */
export function renderSchoolBlocks(schools: readonly string[]): string {
  const bad = schools.filter((s) => schoolIdProblem(s) !== undefined);
  if (bad.length > 0) throw new Error(`refusing to write an ACL rule for school ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
  const title = "# --- Schools bridged to this broker: each writes under its own ecole/<id>/ only -----------------";
  if (schools.length === 0) {
    return `${title}\n# None (--school, SCHOOLS): a school broker bridged here (CN=site-bridge-<id>) may publish nothing.\n`;
  }
  const parts = [
    title,
    '# A school broker bridges with CN=site-bridge-<id> (clients-certs.sh --site-bridge <id>, in this',
    "# broker's PKI). What it publishes under another school's prefix is dropped (MQTT 5: \"not",
    '# authorized"; a Mosquitto bridge speaks 3.1.1: silently).',
  ];
  for (const school of schools) parts.push('', `user ${siteBridgeCn(school)}`, ...allTopics(school).map((f) => `topic write ${f}`));
  parts.push('', "# --- The bridge reads every school's readings, controller events and link state ----------------", 'user mqtt-bridge');
  parts.push(...schools.flatMap(allTopics).map((f) => `topic read ${f}`));
  parts.push('', "# --- The healthcheck may read every school's link state -------------------------------------", 'user mosquitto');
  parts.push(...schools.map((school) => `topic read ${schoolTopics(school).linkState}`));
  return `${parts.join('\n')}\n`;
}
