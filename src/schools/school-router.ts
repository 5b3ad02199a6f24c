/**
 * The source's store in school mode: each message goes to its school's journal, found by the
 * topic's `ecole/<id>/` prefix, which is stripped (the journal, the decoder and everything
 * after it see the topic the devices published). The messages that arrive together are still
 * appended in one transaction per school, and acknowledged only once every school's journal
 * of the group committed (mqtt/source.ts).
 */
import type { Backlog, IncomingMessage } from '../journal/journal.js';
import type { Logger } from '../logger.js';
import type { MessageStore } from '../mqtt/source.js';
import { monotonicMs } from '../time.js';
import { splitSchoolTopic } from './school-ids.js';

/** What the router needs of a school (school-pipeline.ts). */
export interface RoutedSchool {
  readonly ecole: string;
  /** In SCHOOLS (else a school removed from it, whose queued messages may still arrive). */
  readonly subscribed: boolean;
  readonly journal: MessageStore;
  lastReceivedAt: number | undefined;
}

const DROPPED_LOG_INTERVAL_MS = 60_000;

export class SchoolRouter implements MessageStore {
  private readonly bySchool: Map<string, RoutedSchool>;
  private dropped = { count: 0, loggedAt: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly schools: readonly RoutedSchool[],
    private readonly log: Logger,
  ) {
    this.bySchool = new Map(schools.map((school) => [school.ecole, school]));
  }

  appendMessages(msgs: IncomingMessage[], maxPayloadBytes: number): boolean[] {
    const stored = msgs.map(() => false);
    const groups = new Map<RoutedSchool, { at: number[]; msgs: IncomingMessage[] }>();
    msgs.forEach((msg, i) => {
      const split = splitSchoolTopic(msg.topic);
      const school = split && this.bySchool.get(split.school);
      if (!school) {
        stored[i] = true; // acknowledged: there is nowhere to write it
        this.drop(msg.topic);
        return;
      }
      let group = groups.get(school);
      if (!group) groups.set(school, (group = { at: [], msgs: [] }));
      group.at.push(i);
      group.msgs.push({ ...msg, topic: split.topic });
    });
    let failure: unknown;
    for (const [school, group] of groups) {
      try {
        school.journal.appendMessages(group.msgs, maxPayloadBytes).forEach((ok, k) => (stored[group.at[k]!] = ok));
        school.lastReceivedAt = group.msgs[group.msgs.length - 1]!.receivedAt;
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return stored;
  }

  /** Every school served loses the broker: each one's database gets its MQTT_DISCONNECT row. */
  appendEvent(kind: 'mqtt_disconnect', detail: string): void {
    let failure: unknown;
    for (const school of this.schools) {
      if (!school.subscribed) continue;
      try {
        school.journal.appendEvent(kind, detail);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  get backlogBytes(): number {
    let bytes = 0;
    for (const school of this.schools) bytes += school.journal.backlogBytes;
    return bytes;
  }

  backlogSize(): Backlog {
    const total = { entries: 0, bytes: 0 };
    for (const school of this.schools) {
      const backlog = school.journal.backlogSize();
      total.entries += backlog.entries;
      total.bytes += backlog.bytes;
    }
    return total;
  }

  /**
   * Only a subscription this bridge no longer knows of delivers these (a session subscribed by
   * a run whose DATA_DIR is gone, or a single-school run's topics): logged, at most once a minute.
   */
  private drop(topic: string): void {
    this.dropped.count += 1;
    const now = monotonicMs();
    if (now - this.dropped.loggedAt < DROPPED_LOG_INTERVAL_MS) return;
    this.log.error(
      { topic, dropped: this.dropped.count },
      'a message of no school this bridge serves or served (SCHOOLS, no ecole-<id> folder in DATA_DIR) was acknowledged and dropped: add the school to SCHOOLS to keep its next ones',
    );
    this.dropped = { count: 0, loggedAt: now };
  }
}
