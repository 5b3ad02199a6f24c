/**
 * The broker side: a persistent QoS 1 subscription whose messages are acknowledged only once
 * the journal holds them. MQTT.js sends the PUBACK when `handleMessage` calls back, and reads
 * the next packet only after that, so the append is synchronous and quick (SQLite).
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config.js';
import type { Journal } from '../journal/journal.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { connectionOptions } from './tls-options.js';
import { subscriptions, topicKind } from './topics.js';

const MAX_RECONNECT_DELAY_MS = 60_000;
/** Receiving resumes once the journal is back under this share of its budget. */
const RESUME_BELOW = 0.9;
const RESUME_CHECK_MS = 1_000;

export interface SourceOptions {
  maxPayloadBytes: number;
  journalMaxBytes: number;
}

export class MqttSource {
  private client: MqttClient | undefined;
  private subscribed = false;
  /** Between a CONNACK and the next close: a close then is a lost connection. */
  private up = false;
  private closingOnPurpose = false;
  private lastError: string | undefined;
  private pausedSince: number | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly cfg: MqttConfig,
    private readonly journal: Journal,
    private readonly opts: SourceOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.subscribed && this.client?.connected === true;
  }

  /** True while the journal is over its budget and nothing is acknowledged. */
  get paused(): boolean {
    return this.pausedSince !== undefined;
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
  }

  private receive(packet: IPublishPacket, done: (err?: Error) => void): void {
    if (this.paused || this.stopping) {
      done(new Error('not accepting messages')); // no PUBACK: the broker keeps the message
      return;
    }
    if (this.journal.backlogSize().bytes >= this.opts.journalMaxBytes) {
      this.pause('the local journal reached its disk budget (JOURNAL_MAX_BYTES)');
      done(new Error('journal full'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    try {
      const stored = this.journal.appendMessage(
        { topic: packet.topic, payload, receivedAt: Date.now(), packetId: packet.messageId, dup: packet.dup },
        this.opts.maxPayloadBytes,
      );
      if (stored) this.metrics.messagesReceived.inc({ kind: topicKind(packet.topic) });
      else this.metrics.duplicatesSkipped.inc();
      this.log.debug({ topic: packet.topic, bytes: payload.length, dup: packet.dup, stored }, 'message journaled');
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'cannot write the local journal');
      this.pause('the local journal cannot be written');
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    done();
  }

  private async onConnect(sessionPresent: boolean): Promise<void> {
    const client = this.client!;
    client.options.reconnectPeriod = this.cfg.retryDelayMs;
    this.closingOnPurpose = false;
    this.up = true;
    this.log.info({ sessionPresent }, 'connected to broker');
    try {
      const granted = await client.subscribeAsync(subscriptions(this.cfg.sharedGroup), { qos: 1 });
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        this.log.error({ refused }, 'the broker refused subscriptions (check the ACL for this certificate)');
        return;
      }
      this.subscribed = true;
      this.metrics.mqttConnected.set(1);
      this.log.info({ topics: granted.map((g) => g.topic) }, 'subscribed');
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'subscribe failed; retrying on reconnect');
    }
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
      this.journal.appendEvent('mqtt_disconnect', reason);
    }
    this.lastError = undefined;
  }

  /** Over budget or disk failing: disconnect; unacknowledged messages stay on the broker. */
  private pause(reason: string): void {
    if (this.paused) return;
    this.pausedSince = Date.now();
    this.metrics.journalFull.set(1);
    this.log.warn({ reason, backlog: this.journal.backlogSize(), budget: this.opts.journalMaxBytes }, 'pausing: no longer acknowledging messages');
    this.closingOnPurpose = true;
    this.client?.end(true);
    this.resumeTimer = setInterval(() => this.resumeIfRoom(), RESUME_CHECK_MS);
  }

  private resumeIfRoom(): void {
    if (this.journal.backlogSize().bytes >= this.opts.journalMaxBytes * RESUME_BELOW) return;
    clearInterval(this.resumeTimer);
    this.log.info({ pausedForMs: Date.now() - this.pausedSince!, backlog: this.journal.backlogSize() }, 'resuming: the journal has room again');
    this.pausedSince = undefined;
    this.metrics.journalFull.set(0);
    this.client?.reconnect();
  }
}
