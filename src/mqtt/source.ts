/**
 * The broker side: a persistent QoS 1 subscription whose messages are acknowledged only once
 * the journal holds them.
 *
 * Group commit: MQTT.js reads the next packet only after `handleMessage` calls back, and sends
 * the PUBACK then unless the callback gets an error. So every message is taken at once with
 * "not yet" (no PUBACK), the messages that arrive in one turn of the event loop are appended to
 * the journal in one transaction, and their PUBACKs are written after that commit, together.
 * One disk write and one TLS record per group instead of one per message.
 */
import type { Duplex } from 'node:stream';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config.js';
import type { Backlog, IncomingMessage } from '../journal/journal.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { connectionOptions } from './tls-options.js';
import { pubacks } from './puback.js';
import type { SubscriptionRecord } from './subscription-record.js';
import { topicKind, TOPIC_KINDS, type TopicKind } from './topics.js';
import { errorMessage } from '../error-message.js';
import { monotonicMs } from '../time.js';

const MAX_RECONNECT_DELAY_MS = 60_000;
/** Receiving resumes once the journal is back under this share of its budget. */
const RESUME_BELOW = 0.9;
const RESUME_CHECK_MS = 1_000;
/** Filters per SUBSCRIBE packet: hundreds of schools' filters must stay under the broker's max_packet_size. */
const FILTERS_PER_PACKET = 100;
/** Passed to MQTT.js's callback: it then sends no PUBACK; ours follows the group commit. */
const ACK_AFTER_COMMIT = new Error('acknowledged after the group commit');

interface Pending {
  message: IncomingMessage;
  /** The connection the message came on: a PUBACK only makes sense on that one. */
  stream: Duplex;
}

/**
 * Where the source stores what it receives: the bridge's journal, or the schools' journals
 * (schools/school-router.ts).
 */
export interface MessageStore {
  /**
   * Appends the messages (one transaction per journal); false for a redelivery already stored.
   * Throws when a journal cannot be written: nothing of the group may be acknowledged then (what
   * other journals stored is recognised when the broker sends it again).
   */
  appendMessages(msgs: IncomingMessage[], maxPayloadBytes: number): boolean[];
  /** Records the loss of the broker connection (an MQTT_DISCONNECT row, in order). */
  appendEvent(kind: 'mqtt_disconnect', detail: string): void;
  /** Bytes waiting for the database, compared with the budget for every message. */
  readonly backlogBytes: number;
  backlogSize(): Backlog;
}

export interface SourceOptions {
  maxPayloadBytes: number;
  /** Waiting bytes (all journals together) at which the bridge stops acknowledging (JOURNAL_MAX_BYTES; times the schools in school mode). */
  journalMaxBytes: number;
  /** The topic filters, subscribed at QoS 1 (topics.ts). */
  subscriptions: string[];
  /** What the persistent session was subscribed to before. */
  subscriptionRecord: SubscriptionRecord;
}

type PauseReason = 'budget' | 'journal-error';
const PAUSE_REASONS: Record<PauseReason, string> = {
  budget: 'the local journal reached its disk budget (JOURNAL_MAX_BYTES)',
  'journal-error': 'the local journal cannot be written',
};

function packets(filters: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < filters.length; i += FILTERS_PER_PACKET) out.push(filters.slice(i, i + FILTERS_PER_PACKET));
  return out;
}

function byTopicKind<T>(value: (kind: TopicKind) => T): Record<TopicKind, T> {
  return Object.fromEntries(TOPIC_KINDS.map((kind) => [kind, value(kind)])) as Record<TopicKind, T>;
}

export class MqttSource {
  private client: MqttClient | undefined;
  private subscribed = false;
  /** Between a CONNACK and the next close: a close then is a lost connection. */
  private up = false;
  private closingOnPurpose = false;
  private lastError: string | undefined;
  /** Set while nothing is acknowledged. */
  private pausing: { since: number; reason: PauseReason } | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private group: Pending[] = [];
  /** Messages refused since the pause or stop began, by delivered QoS. */
  private refused = { qos0: 0, qos1: 0 };
  /** Set once the connection delivered a QoS 0 message (warned about once per connection). */
  private qos0Seen = false;
  /** Counters per topic kind, bound once: label lookups on every message cost more. */
  private readonly received;

  constructor(
    private readonly cfg: MqttConfig,
    private readonly store: MessageStore,
    private readonly opts: SourceOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.received = byTopicKind((kind) => metrics.messagesReceived.labels({ kind }));
  }

  get connected(): boolean {
    return this.subscribed && this.client?.connected === true;
  }

  /** True while nothing is acknowledged: the journal is over its budget or cannot be written. */
  get paused(): boolean {
    return this.pausing !== undefined;
  }

  get overBudget(): boolean {
    return this.pausing?.reason === 'budget';
  }

  start(): void {
    const client = mqtt.connect(connectionOptions(this.cfg));
    this.client = client;
    client.handleMessage = (packet, done) => this.receive(packet as IPublishPacket, done);
    client.on('connect', (connack) => void this.onConnect(connack.sessionPresent));
    client.on('reconnect', () => this.onReconnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = err.message;
      this.log.warn({ err: err.message, code: (err as { code?: unknown }).code }, 'broker connection error');
    });
    this.log.info({ host: this.cfg.host, port: this.cfg.port, tls: Boolean(this.cfg.tls), clientId: this.cfg.clientId }, 'connecting to broker');
  }

  /** Stops taking messages: a clean DISCONNECT, the session stays on the broker. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resumeTimer);
    this.commitGroup();
    const client = this.client;
    if (!client) return;
    this.closingOnPurpose = true;
    await new Promise<void>((resolve) => {
      const forced = setTimeout(() => client.end(true, () => resolve()), 2_000);
      client.end(false, () => {
        clearTimeout(forced);
        resolve();
      });
    });
    this.metrics.mqttConnected.set(0);
    if (this.refused.qos0 + this.refused.qos1 > 0) this.log.info({ refusedQos1: this.refused.qos1, lostQos0: this.refused.qos0 }, 'messages refused while stopping');
  }

  private receive(packet: IPublishPacket, done: (err?: Error) => void): void {
    if (packet.retain) {
      // Only a new subscription gets the retain flag (MQTT 3.1.1 §3.3.1.3): this is the
      // broker's retained copy sent again at our SUBSCRIBE, not a new publication. Its live
      // delivery, if we were subscribed then, came with the flag clear and is stored.
      this.metrics.retainedSkipped.inc({ kind: topicKind(packet.topic) });
      this.log.debug({ topic: packet.topic }, 'retained replay not stored again');
      done();
      return;
    }
    if (packet.qos === 0) this.noticeQos0(packet.topic);
    if (this.paused || this.stopping) {
      this.refuse(packet);
      done(new Error('not accepting messages')); // no PUBACK: the broker keeps a QoS 1 message
      return;
    }
    if (this.store.backlogBytes >= this.opts.journalMaxBytes) {
      this.pause('budget');
      this.refuse(packet);
      done(new Error('journal full'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const message = { topic: packet.topic, payload, receivedAt: Date.now(), packetId: packet.messageId, dup: packet.dup };
    if (this.group.push({ message, stream: this.client!.stream }) === 1) setImmediate(() => this.commitGroup());
    done(ACK_AFTER_COMMIT);
  }

  /**
   * A QoS 0 delivery means the broker does not upgrade to the subscription's QoS: what it sends
   * while the bridge is away or paused is then dropped, not queued.
   */
  private noticeQos0(topic: string): void {
    if (this.qos0Seen) return;
    this.qos0Seen = true;
    this.log.warn(
      { topic },
      'the broker delivers QoS 0 messages to the bridge: those sent while it is restarting or paused are lost. Set upgrade_outgoing_qos true in mosquitto.conf (the shipped config does)',
    );
  }

  /** Counted and logged: a refused QoS 1 message comes back, a refused QoS 0 message is lost. */
  private refuse(packet: IPublishPacket): void {
    const qos = packet.qos === 0 ? 'qos0' : 'qos1';
    this.metrics.messagesRefused.inc({ qos: packet.qos === 0 ? '0' : '1' });
    if (++this.refused[qos] === 1) {
      const why = this.stopping ? 'stopping' : 'paused';
      if (qos === 'qos0') this.log.warn({ topic: packet.topic, why }, 'a QoS 0 message was refused and is lost (the broker delivers QoS 0; see upgrade_outgoing_qos)');
      else this.log.info({ why }, 'refusing messages; the broker keeps them (QoS 1) and sends them again later');
    }
  }

  /** Appends the group in one transaction, then acknowledges it. */
  private commitGroup(): void {
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    let stored: boolean[];
    try {
      stored = this.store.appendMessages(
        group.map((p) => p.message),
        this.opts.maxPayloadBytes,
      );
    } catch (err) {
      // Nothing of the group is stored nor acknowledged: the broker sends it again later.
      this.log.error({ err: errorMessage(err), messages: group.length }, 'cannot write the local journal');
      this.pause('journal-error');
      return;
    }
    // Counted once per group: a labelled counter costs more than the rest of a message.
    const received = byTopicKind(() => 0);
    group.forEach(({ message }, i) => {
      if (stored[i]) received[topicKind(message.topic)] += 1;
    });
    for (const kind of TOPIC_KINDS) if (received[kind] > 0) this.received[kind].inc(received[kind]);
    const duplicates = group.length - stored.filter(Boolean).length;
    if (duplicates > 0) this.metrics.duplicatesSkipped.inc(duplicates);
    this.log.debug({ messages: group.length, duplicates }, 'group journaled');
    this.acknowledge(group);
  }

  /** One write of all the group's PUBACKs. */
  private acknowledge(group: Pending[]): void {
    const current = this.client?.connected ? this.client.stream : undefined;
    if (!current) return;
    // A message whose connection is gone is redelivered (DUP) and recognised as stored.
    const ids = group.filter((p) => p.stream === current && p.message.packetId !== undefined).map((p) => p.message.packetId!);
    if (ids.length > 0) current.write(pubacks(ids));
  }

  private async onConnect(sessionPresent: boolean): Promise<void> {
    const client = this.client!;
    client.options.reconnectPeriod = this.cfg.retryDelayMs;
    this.closingOnPurpose = false;
    this.up = true;
    this.qos0Seen = false;
    this.log.info({ sessionPresent }, 'connected to broker');
    try {
      const granted = [];
      for (const filters of packets(this.opts.subscriptions)) granted.push(...(await client.subscribeAsync(filters, { qos: 1 })));
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        this.log.error({ refused }, 'the broker refused subscriptions (check the ACL for this certificate)');
        return;
      }
      await this.dropPreviousSubscriptions();
      this.subscribed = true;
      this.metrics.mqttConnected.set(1);
      this.log.info({ topics: granted.length > 12 ? `${granted.length} filters` : granted.map((g) => g.topic) }, 'subscribed');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'subscribe failed; retrying on reconnect');
    }
  }

  /**
   * The persistent session keeps every subscription it ever made: after MQTT_SHARED_GROUP
   * changes, the old filter would still match and each reading would arrive twice; after a
   * school leaves SCHOOLS, the broker would go on queueing its readings. The filters in use are
   * recorded (subscription-record.ts), and the previous ones no longer in use dropped.
   */
  private async dropPreviousSubscriptions(): Promise<void> {
    const current = this.opts.subscriptions;
    const kept = new Set(current);
    const dropped = [...new Set(this.opts.subscriptionRecord.previous())].filter((filter) => !kept.has(filter));
    for (const filters of packets(dropped)) await this.client!.unsubscribeAsync(filters);
    if (dropped.length > 0) this.log.info({ previous: dropped, current: current.length > 12 ? `${current.length} filters` : current }, 'dropped the previous subscription to readings or schools no longer configured');
    this.opts.subscriptionRecord.save(current);
  }

  private onReconnect(): void {
    const client = this.client!;
    this.metrics.mqttReconnects.inc();
    const next = Math.min(client.options.reconnectPeriod! * 2, MAX_RECONNECT_DELAY_MS);
    this.log.info({ nextDelayMs: next }, 'reconnecting to broker');
    client.options.reconnectPeriod = next;
  }

  private onClose(): void {
    const wasUp = this.up;
    this.up = false;
    this.subscribed = false;
    this.metrics.mqttConnected.set(0);
    if (this.closingOnPurpose || this.stopping) return;
    if (wasUp) {
      const reason = this.lastError ?? 'connexion fermée';
      this.log.warn({ reason }, 'broker connection lost');
      // The client id tells which bridge lost its connection when several share the work.
      try {
        this.store.appendEvent('mqtt_disconnect', `${reason} ; pont ${this.cfg.clientId}`);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'the local journal could not record the disconnection');
      }
    }
    this.lastError = undefined;
  }

  /** Over budget or disk failing: disconnect; unacknowledged messages stay on the broker. */
  private pause(reason: PauseReason): void {
    if (this.paused || this.stopping) return;
    // Set first: the group committed below may fail and ask for a pause again.
    this.pausing = { since: monotonicMs(), reason };
    this.commitGroup();
    this.log.warn({ reason: PAUSE_REASONS[reason], backlog: this.store.backlogSize(), budget: this.opts.journalMaxBytes }, 'pausing: no longer acknowledging messages');
    this.closingOnPurpose = true;
    this.client?.end(true);
    clearInterval(this.resumeTimer);
    this.resumeTimer = setInterval(() => this.resumeIfRoom(), RESUME_CHECK_MS);
  }

  /** A journal that failed to write is tried again the same way, every RESUME_CHECK_MS. */
  private resumeIfRoom(): void {
    if (this.store.backlogSize().bytes >= this.opts.journalMaxBytes * RESUME_BELOW) return;
    clearInterval(this.resumeTimer);
    this.log.info(
      { pausedForMs: monotonicMs() - this.pausing!.since, backlog: this.store.backlogSize(), refusedQos1: this.refused.qos1, lostQos0: this.refused.qos0 },
      'resuming: the journal has room again',
    );
    this.pausing = undefined;
    this.refused = { qos0: 0, qos1: 0 };
    this.client?.reconnect();
  }
}
