/**
 * The central side of a region test before the bridge routes schools: what the central bridge
 * will do at the MQTT level, and nothing more. A persistent session (clean=false, a fixed client
 * id) subscribed at QoS 1 to each school's ecole/<id>/ readings and controller topics, again at
 * every connection; the broker's retained copies (retain flag set on delivery) are not new
 * messages. Swap it for the bridge and each school's database rows behind the same CentralSink.
 */
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { schoolTopics } from '../../src/ops/acl/schools.js';
import type { CentralBroker } from './site-brokers.js';
import { readingKey, type CentralSink } from './site-delivery.js';
import { waitFor } from './wait.js';

interface SchoolState {
  readings: Map<string, number>;
  online: Map<string, boolean>;
}

const TOPIC = /^ecole\/([a-z0-9-]+)\/(?:serre\/1\/bac\/(\d+)|controleur\/([^/]+)(\/disconnect)?)$/;

/** A client of the central broker with the central bridge's identity (CN=mqtt-bridge), as the bridge connects. */
export function bridgeClient(central: CentralBroker, opts: IClientOptions): MqttClient {
  return connect(central.url, {
    ca: readFileSync(central.pki.caFile),
    cert: readFileSync(central.pki.bridge.certFile),
    key: readFileSync(central.pki.bridge.keyFile),
    rejectUnauthorized: true,
    clean: false,
    protocolVersion: 4,
    resubscribe: false,
    ...opts,
  });
}

export async function centralSubscriber(central: CentralBroker, schools: string[], clientId = 'central-test-subscriber'): Promise<CentralSink> {
  const state = new Map<string, SchoolState>(schools.map((s) => [s, { readings: new Map(), online: new Map() }]));
  const filters = schools.flatMap((s) => {
    const t = schoolTopics(s);
    return [t.readings, t.controller, t.lastWill];
  });
  const client = bridgeClient(central, { clientId, reconnectPeriod: 500 });
  const unexpectedTopics: string[] = [];
  let subscribed = false;
  client.on('connect', () => {
    subscribed = false;
    void client.subscribeAsync(filters, { qos: 1 }).then(() => (subscribed = true), () => undefined);
  });
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) return; // the broker's retained copy at SUBSCRIBE, not a new message
    const m = TOPIC.exec(topic);
    const school = m && state.get(m[1]!);
    if (!m || !school) {
      unexpectedTopics.push(topic);
      return;
    }
    if (m[2] !== undefined) {
      const value = (JSON.parse(payload.toString()) as { humiditeAmbiante: number }).humiditeAmbiante;
      const key = readingKey(Number(m[2]), Math.round(value * 100));
      school.readings.set(key, (school.readings.get(key) ?? 0) + 1);
    } else {
      const mac = m[3]!;
      school.online.set(mac, m[4] === undefined ? (JSON.parse(payload.toString()) as { status: boolean }).status : false);
    }
  });
  await waitFor('the central subscriber subscribed', () => subscribed, 20_000);

  const of = (school: string): SchoolState => {
    if (unexpectedTopics.length > 0) throw new Error(`central subscriber: unexpected topics ${unexpectedTopics.join(', ')}`);
    const s = state.get(school);
    if (!s) throw new Error(`central subscriber: ${school} is not one of ${schools.join(', ')}`);
    return s;
  };
  return {
    readings: async (school) => new Map(of(school).readings),
    controllerOnline: async (school, mac) => of(school).online.get(mac),
    close: () => client.endAsync(true),
  };
}
