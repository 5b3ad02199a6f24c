/** The subscriptions (README, Topics and payloads); readings can be spread over a shared group. */
export function subscriptions(sharedGroup: string): string[] {
  const readings = 'serre/+/bac/+';
  return [sharedGroup ? `$share/${sharedGroup}/${readings}` : readings, 'controleur/+', 'controleur/+/disconnect'];
}

export const TOPIC_KINDS = ['bac', 'controller', 'disconnect', 'other'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/** A cheap label for metrics (the decoder does the real parsing later). */
export function topicKind(topic: string): TopicKind {
  if (topic.startsWith('serre/')) return 'bac';
  if (topic.startsWith('controleur/')) return topic.endsWith('/disconnect') ? 'disconnect' : 'controller';
  return 'other';
}
