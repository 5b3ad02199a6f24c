import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { MqttConfig } from '../config.js';

/** Connection options: mutual TLS from files, server verified against our CA and host name. */
export function connectionOptions(cfg: MqttConfig): IClientOptions {
  const common: IClientOptions = {
    host: cfg.host,
    port: cfg.port,
    clientId: cfg.clientId,
    keepalive: cfg.keepalive,
    username: cfg.username,
    password: cfg.password,
    protocolVersion: 4,
    // A persistent session: the broker keeps our subscriptions and queues QoS 1 messages
    // while the bridge is away.
    clean: false,
    reconnectPeriod: cfg.retryDelayMs,
    connectTimeout: 30_000,
    resubscribe: false,
    // By default mqtt-packet makes 65 536 two-byte Buffers at the first write, one per packet id
    // (~7 MB of heap for good, that every full GC traverses); the bridge writes its PUBACKs
    // itself (puback.ts), so the few packets MQTT.js writes encode their ids on the spot.
    writeCache: false,
    // MQTT.js traces every packet through `debug`, which costs CPU on each message even when
    // nothing is printed; keep the trace for DEBUG=mqttjs* only.
    ...(process.env.DEBUG ? {} : { log: () => undefined }),
  };
  if (!cfg.tls) return { ...common, protocol: 'mqtt' };
  return {
    ...common,
    protocol: 'mqtts',
    ca: readFileSync(cfg.tls.caFile),
    cert: readFileSync(cfg.tls.certFile),
    key: readFileSync(cfg.tls.keyFile),
    rejectUnauthorized: true,
  };
}
