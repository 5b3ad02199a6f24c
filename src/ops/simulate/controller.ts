import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceIdentity } from './certs.js';
import type { Stats } from './stats.js';

/**
 * One simulated ESP32 controller: an mTLS MQTT connection with its MAC as certificate CN, a Last
 * Will on controleur/<MAC>/disconnect, and an announcement on controleur/<MAC> after every
 * connect, as the firmware does. It can drop its connection abruptly to make the Will fire.
 */

export interface ControllerSettings {
  host: string;
  port: number;
  /** MQTT_CA_FILE when set, else the device's own ca.crt. */
  caFile: string | undefined;
  qos: 0 | 1;
}

/** How long after an abrupt drop the controller comes back, like a device's Wi-Fi retry. */
const RECONNECT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 10_000;

export class SimulatedController {
  private readonly client: MqttClient;
  private connects = 0;
  private pending = 0;
  private lastError: string | undefined;
  private readonly drained: Array<() => void> = [];

  constructor(
    readonly identity: DeviceIdentity,
    private readonly settings: ControllerSettings,
    private readonly stats: Stats,
  ) {
    const mac = identity.mac;
    this.client = mqtt.connect({
      protocol: 'mqtts',
      host: settings.host,
      port: settings.port,
      ca: readFileSync(settings.caFile ?? identity.caFile),
      cert: readFileSync(identity.certFile),
      key: readFileSync(identity.keyFile),
      rejectUnauthorized: true,
      // Unique per simulated device; never the bridge's id.
      clientId: `parc-sim-${mac.replaceAll(':', '')}`,
      // PubSubClient's defaults: clean session, 15 s keepalive.
      clean: true,
      keepalive: 15,
      protocolVersion: 4,
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A device does not store readings while offline; the scheduler skips them instead.
      queueQoSZero: false,
      will: { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1, retain: false },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('error', (err) => (this.lastError = err.message));
  }

  get mac(): string {
    return this.identity.mac;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  get pendingAcks(): number {
    return this.pending;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** The address the broker sees, as the firmware reports WiFi.localIP(). */
  private localAddress(): string {
    const address = (this.client.stream as { localAddress?: string } | undefined)?.localAddress ?? '127.0.0.1';
    return address.replace(/^::ffff:/, '');
  }

  private onConnect(): void {
    this.connects++;
    if (this.connects > 1) this.stats.count('reconnect');
    this.publish(`controleur/${this.mac}`, JSON.stringify({ ip: this.localAddress(), status: true }), 'announce');
  }

  /** Publishes unless offline (a device skips readings then); false when skipped. */
  publish(topic: string, payload: string, kind: string): boolean {
    if (!this.client.connected) return false;
    this.pending++;
    this.stats.count(kind);
    this.client.publish(topic, payload, { qos: this.settings.qos }, (err) => {
      this.pending--;
      if (err) this.stats.count('publish_failed');
      if (this.pending === 0) for (const resolve of this.drained.splice(0)) resolve();
    });
    return true;
  }

  /** Cuts the TCP connection without DISCONNECT: the broker then publishes the Last Will. */
  drop(): void {
    if (!this.client.connected) return;
    this.stats.count('drop');
    this.client.stream.destroy();
  }

  /** Resolves on the first CONNACK; rejects with the broker's or TLS error when it takes too long. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('connect', onConnect);
        reject(new Error(`${this.mac} could not connect to ${this.settings.host}:${this.settings.port}: ${this.lastError ?? 'no answer'}`));
      }, timeoutMs);
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('connect', onConnect);
    });
  }

  /** Waits (up to `timeoutMs`) for the broker to acknowledge what was sent, then disconnects cleanly. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.pending > 0 && this.client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // A clean DISCONNECT: the broker discards the Will, the controller stays "online".
    await new Promise<void>((resolve) => {
      const forced = setTimeout(() => this.client.end(true, () => resolve()), 2_000);
      this.client.end(false, () => {
        clearTimeout(forced);
        resolve();
      });
    });
  }
}
