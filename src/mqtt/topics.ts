import { schoolTopicPrefix, splitSchoolTopic } from '../schools/school-ids.js';

const READINGS = 'serre/+/bac/+';
const CONTROLLERS = ['controleur/+', 'controleur/+/disconnect'];

/** The subscriptions (README, Topics and payloads); readings can be spread over a shared group. */
export function subscriptions(sharedGroup: string): string[] {
  return [sharedGroup ? `$share/${sharedGroup}/${READINGS}` : READINGS, ...CONTROLLERS];
}

/**
 * A bridge serving several schools: the same three filters under each school's prefix
 * (docs/schools.md). Controller topics are never shared, as without schools (scaling-out.md).
 */
export function schoolSubscriptions(schools: readonly string[], sharedGroup: string): string[] {
  return schools.flatMap((school) => {
    const prefix = schoolTopicPrefix(school);
    const readings = `${prefix}${READINGS}`;
    return [sharedGroup ? `$share/${sharedGroup}/${readings}` : readings, ...CONTROLLERS.map((filter) => `${prefix}${filter}`)];
  });
}

export const TOPIC_KINDS = ['bac', 'controller', 'disconnect', 'other'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/** A cheap label for metrics (the decoder does the real parsing later); a school's prefix does not count. */
export function topicKind(topic: string): TopicKind {
  const own = splitSchoolTopic(topic)?.topic ?? topic;
  if (own.startsWith('serre/')) return 'bac';
  if (own.startsWith('controleur/')) return own.endsWith('/disconnect') ? 'disconnect' : 'controller';
  return 'other';
}
