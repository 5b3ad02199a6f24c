/**
 * The shipped mosquitto.conf and acl on a real Mosquitto: who gets in (mTLS), who may publish
 * and read what (the default ACL and the hardened acl.mac-cn), the Last Will, and queues that
 * survive a burst and a broker restart, bounded in bytes against a flood of large payloads.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connectOutcome, deviceClient, startBroker, waitForLog, type Broker } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/cleanup.js';
import { makeExpiredCert, makeForeignCert, makePki, REPO_ROOT, runScript, type CertPair, type Pki } from '../helpers/pki.js';

const MAC_A = 'A4:CF:12:00:00:0A';
const MAC_B = 'A4:CF:12:00:00:0B';
/** A device named by hand, the original README's way: its CN is not its MAC. */
const NAMED_DEVICE = 'm5-serre-1';
const BRIDGE_TOPICS = ['serre/+/bac/+', 'controleur/+', 'controleur/+/disconnect'];

interface Received {
  topic: string;
  payload: string;
}

let pki: Pki;
let broker: Broker;
const clients: MqttClient[] = [];

function track(client: MqttClient): MqttClient {
  clients.push(client);
  return client;
}

async function connected(pair: CertPair, opts: IClientOptions = {}, on: Broker = broker): Promise<MqttClient> {
  const client = track(deviceClient(on, { ...pair, caFile: pki.caFile }, opts));
  const outcome = await connectOutcome(client);
  if (!outcome.connected) throw new Error(`connection refused: ${outcome.error?.message}\n${on.log()}`);
  return client;
}

function collect(client: MqttClient): Received[] {
  const seen: Received[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

/**
 * Mosquitto writes to one client in order: once the SUBACK of a fresh subscription is back,
 * every message routed to that client before it has arrived. No sleeping, no timing.
 */
async function barrier(client: MqttClient): Promise<void> {
  await client.subscribeAsync(`barrier/${Math.random().toString(36).slice(2)}`);
}

/** A bridge identity subscribed the way the bridge subscribes (QoS 1). */
async function bridgeListener(extra: IClientOptions = {}, topics = BRIDGE_TOPICS, on: Broker = broker, identity: CertPair = pki.bridge): Promise<{ client: MqttClient; seen: Received[] }> {
  const client = await connected(identity, extra, on);
  const seen = collect(client);
  const granted = await client.subscribeAsync(topics, { qos: 1 });
  expect(granted.map((g) => g.qos)).toEqual(topics.map(() => 1));
  return { client, seen };
}

function until(seen: Received[], count: number, client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (seen.length >= count) {
        client.off('message', check);
        resolve();
      }
    };
    client.on('message', check);
    check();
  });
}

/** The bridge identity of earlier versions of this project, CN=parc-bridge, signed by the same CA. */
async function oldBridgeIdentity(): Promise<CertPair> {
  const dir = await tempDir('parc-pki-old-bridge-');
  mkdirSync(path.join(dir, 'server-certs'));
  for (const f of ['ca.crt', 'ca.key']) copyFileSync(path.join(pki.dir, 'server-certs', f), path.join(dir, 'server-certs', f));
  const r = await runScript('clients-certs.sh', ['--bridge', 'parc-bridge'], { PKI_DIR: dir });
  if (r.code !== 0) throw new Error(r.stderr);
  return { certFile: path.join(dir, 'client-certs', 'client.crt'), keyFile: path.join(dir, 'client-certs', 'client.key') };
}

/** Publishes the controller's status and a will, then cuts its socket: what the bridge sees. */
async function statusThenPowerCut(device: CertPair, mac: string, on: Broker = broker): Promise<Received[]> {
  const bridge = await bridgeListener({}, BRIDGE_TOPICS, on);
  const client = await connected(device, { will: { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1, retain: false } }, on);
  await client.publishAsync(`controleur/${mac}`, '{"ip": "192.168.42.87", "status": true}', { qos: 1 });
  client.stream.destroy(); // a power cut: no DISCONNECT packet
  await waitForLog(on, new RegExp(`Client ${client.options.clientId} (closed its connection|disconnected)|Socket error on client ${client.options.clientId}`));
  await barrier(bridge.client);
  return bridge.seen;
}

beforeAll(async () => {
  pki = await makePki();
  broker = await startBroker(pki);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.stop();
});

describe('mTLS listener', () => {
  it('refuses a client that presents no certificate', async () => {
    const client = track(connect(broker.url, { ca: readFileSync(pki.caFile), rejectUnauthorized: true, reconnectPeriod: 0 }));
    const outcome = await connectOutcome(client);
    expect(outcome).toMatchObject({ connected: false, error: { message: expect.stringMatching(/alert certificate required/) } });
  });

  it('refuses a certificate signed by another CA', async () => {
    const foreign = await makeForeignCert(MAC_A);
    const client = track(deviceClient(broker, { ...foreign, caFile: pki.caFile }));
    const outcome = await connectOutcome(client);
    expect(outcome).toMatchObject({ connected: false, error: { message: expect.stringMatching(/alert unknown ca/) } });
  });

  it('refuses an expired certificate signed by the real CA', async () => {
    const expired = await makeExpiredCert(pki, MAC_A);
    const client = track(deviceClient(broker, { ...expired, caFile: pki.caFile }));
    const outcome = await connectOutcome(client);
    expect(outcome).toMatchObject({ connected: false, error: { message: expect.stringMatching(/alert certificate expired/) } });
  });

  it('refuses plain MQTT without TLS on the listener', async () => {
    const client = track(connect(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, connectTimeout: 10_000 }));
    expect(await connectOutcome(client)).toMatchObject({ connected: false });
    await waitForLog(broker, /wrong version number/);
  });

  it('accepts a device certificate and uses its CN as the username', async () => {
    await connected(await pki.client(MAC_A), { clientId: 'accept-test' });
    await waitForLog(broker, new RegExp(`as accept-test \\(.*u'${MAC_A}'\\)`));
  });
});

describe('ACL', () => {
  it("delivers a device's readings and status to the bridge identity", async () => {
    const bridge = await bridgeListener();
    const shared = await bridgeListener({}, ['$share/parc/serre/+/bac/+']);
    const device = await connected(await pki.client(MAC_A));
    device.publish('serre/1/bac/2', '{"humiditeSol": 45}');
    device.publish(`controleur/${MAC_A}`, '{"ip": "192.168.42.85", "status": true}');
    await until(bridge.seen, 2, bridge.client);
    await until(shared.seen, 1, shared.client);
    expect(bridge.seen).toEqual([
      { topic: 'serre/1/bac/2', payload: '{"humiditeSol": 45}' },
      { topic: `controleur/${MAC_A}`, payload: '{"ip": "192.168.42.85", "status": true}' },
    ]);
    expect(shared.seen).toEqual([{ topic: 'serre/1/bac/2', payload: '{"humiditeSol": 45}' }]);
  });

  it('a device subscribed to # receives nothing, not even other devices\' readings', async () => {
    const spy = await connected(await pki.client(MAC_B));
    const spied = collect(spy);
    const granted = await spy.subscribeAsync('#', { qos: 1 });
    // Mosquitto 2's acl_file does not filter SUBSCRIBE (SUBACK 0); it filters every delivery.
    expect([0, 1, 128]).toContain(granted[0]?.qos);
    const bridge = await bridgeListener();
    const device = await connected(await pki.client(MAC_A));
    device.publish('serre/3/bac/1', '{"temperatureAmbiante": 21}');
    device.publish(`controleur/${MAC_A}`, '{"ip": "192.168.42.86", "status": true}');
    await until(bridge.seen, 2, bridge.client);
    await barrier(spy);
    expect(spied).toEqual([]);
  });

  it('a device cannot read by claiming another username in CONNECT', async () => {
    const spy = await connected(await pki.client(MAC_B), { username: 'parc-bridge', password: 'x' });
    const spied = collect(spy);
    await spy.subscribeAsync(BRIDGE_TOPICS, { qos: 1 });
    const bridge = await bridgeListener();
    const device = await connected(await pki.client(MAC_A));
    device.publish('serre/4/bac/1', '{"humiditeAmbiante": 60}');
    await until(bridge.seen, 1, bridge.client);
    await barrier(spy);
    expect(spied).toEqual([]);
  });

  it('a device cannot publish outside the three topic families (MQTT 5: PUBACK not authorized)', async () => {
    const bridge = await bridgeListener();
    const device = await connected(await pki.client(MAC_A), { protocolVersion: 5 });
    const forbidden = ['serre/1/bac/2/extra', 'serre/1', `controleur/${MAC_A}/disconnect/x`, 'commande/serre/1', 'barrier/x', 'parc-bridge/doctor/x'];
    for (const topic of forbidden) {
      await expect(device.publishAsync(topic, '{"status": false}', { qos: 1 }), topic).rejects.toMatchObject({ code: 135 });
    }
    // What it may publish still goes through, after the refusals, on the same connection.
    await device.publishAsync('serre/9/bac/9', '{"humiditeSol": 1}', { qos: 1 });
    await until(bridge.seen, 1, bridge.client);
    await barrier(bridge.client);
    expect(bridge.seen).toEqual([{ topic: 'serre/9/bac/9', payload: '{"humiditeSol": 1}' }]);
  });

  it(`a device with a descriptive CN (${NAMED_DEVICE}) publishes readings, its status and its Last Will`, async () => {
    const named = await pki.client(NAMED_DEVICE);
    const bridge = await bridgeListener();
    const device = await connected(named);
    await device.publishAsync('serre/2/bac/1', '{"humiditeAmbiante": 61}', { qos: 1 });
    await until(bridge.seen, 1, bridge.client);
    expect(bridge.seen).toEqual([{ topic: 'serre/2/bac/1', payload: '{"humiditeAmbiante": 61}' }]);
    expect(await statusThenPowerCut(named, MAC_A)).toEqual([
      { topic: `controleur/${MAC_A}`, payload: '{"ip": "192.168.42.87", "status": true}' },
      { topic: `controleur/${MAC_A}/disconnect`, payload: '' },
    ]);
  });

  it("publishes the Last Will on controleur/<MAC>/disconnect when the device's socket dies", async () => {
    expect(await statusThenPowerCut(await pki.client(MAC_A), MAC_A)).toEqual([
      { topic: `controleur/${MAC_A}`, payload: '{"ip": "192.168.42.87", "status": true}' },
      { topic: `controleur/${MAC_A}/disconnect`, payload: '' },
    ]);
  });

  it('lets the bridge identity of earlier versions (CN=parc-bridge) read too', async () => {
    const old = await bridgeListener({}, BRIDGE_TOPICS, broker, await oldBridgeIdentity());
    const device = await connected(await pki.client(MAC_A));
    await device.publishAsync('serre/5/bac/2', '{"humiditeSol": 33}', { qos: 1 });
    await until(old.seen, 1, old.client);
    expect(old.seen).toEqual([{ topic: 'serre/5/bac/2', payload: '{"humiditeSol": 33}' }]);
  });
});

describe('hardened ACL (acl.mac-cn): controller topics bound to CN = MAC', () => {
  let hardened: Broker;
  beforeAll(async () => {
    hardened = await startBroker(pki, { acl: 'acl.mac-cn' });
  });
  afterAll(async () => {
    await hardened?.stop();
  });

  it("refuses another controller's topics, and the MAC in another case (MQTT 5: PUBACK not authorized)", async () => {
    const bridge = await bridgeListener({}, BRIDGE_TOPICS, hardened);
    const device = await connected(await pki.client(MAC_A), { protocolVersion: 5 }, hardened);
    for (const topic of [`controleur/${MAC_B}`, `controleur/${MAC_B}/disconnect`, `controleur/${MAC_A.toLowerCase()}`]) {
      await expect(device.publishAsync(topic, '{"status": false}', { qos: 1 }), topic).rejects.toMatchObject({ code: 135 });
    }
    await device.publishAsync(`controleur/${MAC_A}`, '{"ip": "192.168.42.85", "status": true}', { qos: 1 });
    await device.publishAsync('serre/1/bac/2', '{"humiditeSol": 45}', { qos: 1 });
    await until(bridge.seen, 2, bridge.client);
    await barrier(bridge.client);
    expect(bridge.seen).toEqual([
      { topic: `controleur/${MAC_A}`, payload: '{"ip": "192.168.42.85", "status": true}' },
      { topic: 'serre/1/bac/2', payload: '{"humiditeSol": 45}' },
    ]);
  });

  it(`drops the status and Last Will of a device whose CN is not its MAC (${NAMED_DEVICE}), keeps its readings`, async () => {
    const named = await pki.client(NAMED_DEVICE);
    expect(await statusThenPowerCut(named, MAC_A, hardened)).toEqual([]);
    const bridge = await bridgeListener({}, BRIDGE_TOPICS, hardened);
    const device = await connected(named, {}, hardened);
    await device.publishAsync('serre/3/bac/3', '{"humiditeSol": 12}', { qos: 1 });
    await until(bridge.seen, 1, bridge.client);
    expect(bridge.seen).toEqual([{ topic: 'serre/3/bac/3', payload: '{"humiditeSol": 12}' }]);
  });

  it("drops a Last Will set on another controller's topic", async () => {
    expect(await statusThenPowerCut(await pki.client(MAC_A), MAC_B, hardened)).toEqual([]);
  });

  it("delivers a controller's own status and Last Will", async () => {
    expect(await statusThenPowerCut(await pki.client(MAC_B), MAC_B, hardened)).toEqual([
      { topic: `controleur/${MAC_B}`, payload: '{"ip": "192.168.42.87", "status": true}' },
      { topic: `controleur/${MAC_B}/disconnect`, payload: '' },
    ]);
  });
});

describe('limits', () => {
  it('disconnects a client that sends a packet over max_packet_size (64 KiB)', async () => {
    const bridge = await bridgeListener();
    const device = await connected(await pki.client(MAC_A));
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('serre/1/bac/1', Buffer.alloc(70_000, 0x20));
    await closed;
    await barrier(bridge.client);
    expect(bridge.seen).toEqual([]);
  });
});

describe('queues and persistence', () => {
  it('keeps every QoS 1 message for an offline bridge session, past the stock 1000 limit and across a broker restart', async () => {
    const total = 3000;
    const sessionOpts: IClientOptions = { clientId: 'queue-test-bridge', clean: false };
    const first = await bridgeListener(sessionOpts);
    await first.client.endAsync();

    const device = await connected(await pki.client(MAC_A));
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) sent.push(device.publishAsync('serre/1/bac/1', `{"humiditeSol": ${i % 100}, "n": ${i}}`, { qos: 1 }));
    await Promise.all(sent);
    await device.endAsync();

    await broker.stop();
    await broker.start();

    const again = track(deviceClient(broker, { ...pki.bridge, caFile: pki.caFile }, sessionOpts));
    const seen = collect(again);
    expect(await connectOutcome(again)).toEqual({ connected: true });
    await until(seen, total, again);
    expect(seen.map((m) => JSON.parse(m.payload).n as number)).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});

describe("each client's queue bounded in bytes as well as messages", () => {
  const setting = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(readFileSync(path.join(REPO_ROOT, 'mosquitto', 'config', 'mosquitto.conf'), 'utf8'))?.[1]);
  /** The largest payload the bridge accepts (MAX_PAYLOAD_BYTES). */
  const LARGEST = 16 * 1024;

  it('lets the message count bind first for readings of ~100 bytes, and bounds large payloads in bytes', () => {
    const messages = setting('max_queued_messages');
    const bytes = setting('max_queued_bytes');
    expect(messages).toBeGreaterThanOrEqual(1_000_000);
    expect(bytes).toBeGreaterThanOrEqual(messages * 100);
    // A flood of the largest payloads the bridge takes stops within a few hundred MB of RAM.
    expect(bytes).toBeLessThanOrEqual(256 * 1024 * 1024);
  });

  // A broker of its own: the listeners other tests leave connected would each get the flood.
  let own: Broker;
  beforeAll(async () => {
    own = await startBroker(pki);
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('drops what an offline bridge session would queue past max_queued_bytes, and says so in the log', async () => {
    const limit = setting('max_queued_bytes') / LARGEST;
    const sessionOpts: IClientOptions = { clientId: 'queue-bytes-bridge', clean: false };
    await (await bridgeListener(sessionOpts, BRIDGE_TOPICS, own)).client.endAsync();

    const device = await connected(await pki.client(MAC_A), {}, own);
    const payload = Buffer.alloc(LARGEST, 0x20);
    for (let sent = 0; sent < limit + 100; sent += 500) {
      const batch: Promise<unknown>[] = [];
      for (let i = sent; i < Math.min(limit + 100, sent + 500); i++) batch.push(device.publishAsync('serre/1/bac/1', payload, { qos: 1 }));
      await Promise.all(batch);
    }
    await device.endAsync();
    await waitForLog(own, /Outgoing messages are being dropped for client queue-bytes-bridge\./);

    const again = track(deviceClient(own, { ...pki.bridge, caFile: pki.caFile }, sessionOpts));
    let received = 0;
    again.on('message', () => received++);
    expect(await connectOutcome(again)).toEqual({ connected: true });
    await waitFor('the queued messages', () => received >= limit, 60_000);
    await barrier(again);
    expect(received).toBe(limit);
  });
});

describe("docker-compose.yml's broker healthcheck", () => {
  it('passes against the shipped config', async () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: { mosquitto: { healthcheck: { test: string[] } } };
    };
    const [kind, command, ...args] = compose.services.mosquitto.healthcheck.test;
    expect([kind, command]).toEqual(['CMD', 'mosquitto_sub']);
    const local = args.map((a) =>
      a
        .replace(/\$\$/g, '$') // Compose's escape for a literal $
        .replace('/mosquitto/certs/ca.crt', pki.caFile)
        .replace('/mosquitto/certs/server.crt', pki.server.certFile)
        .replace('/mosquitto/certs/server.key', pki.server.keyFile)
        .replace(/^8883$/, String(broker.port)),
    );
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('mosquitto_sub', local, (error, stdout) => resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stdout }));
    });
    expect(result).toEqual({ code: 0, stdout: expect.stringMatching(/^mosquitto version 2\./) });
  });
});
