/**
 * Everything an integration test needs, real and private: a PKI made by the project's scripts,
 * a Mosquitto started from the shipped config, a throwaway database, and the bridge process.
 */
import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { startBroker, deviceClient, type Broker } from './broker.js';
import { startBridge, type BridgeProcess } from './bridge-process.js';
import { createTestDatabase, LOCAL_MARIADB, type DbServer, type TestDatabase, type TestDatabaseOptions } from './database.js';
import { makePki, type Pki } from './pki.js';
import { waitFor } from './wait.js';

export interface Stack {
  pki: Pki;
  broker: Broker;
  db: TestDatabase;
  /** Environment for a bridge of this stack; `extra` wins. */
  bridgeEnv(extra?: Record<string, string>): Record<string, string>;
  startBridge(extra?: Record<string, string>, opts?: { waitReady?: boolean }): Promise<BridgeProcess>;
  /** A connected mTLS device whose certificate CN is `name` (a MAC for controllers). */
  device(name: string, opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export interface StackOptions {
  dbServer?: DbServer;
  database?: TestDatabaseOptions;
}

export async function createStack(opts: StackOptions = {}): Promise<Stack> {
  const pki = await makePki();
  const broker = await startBroker(pki);
  const db = await createTestDatabase(opts.dbServer ?? LOCAL_MARIADB, opts.database);
  const clientId = `parc-bridge-test-${randomBytes(3).toString('hex')}`;
  const bridges: BridgeProcess[] = [];
  const devices: MqttClient[] = [];

  const stack: Stack = {
    pki,
    broker,
    db,
    bridgeEnv: (extra = {}) => ({
      ...db.env(),
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.port),
      MQTT_CA_FILE: pki.caFile,
      MQTT_CERT_FILE: pki.bridge.certFile,
      MQTT_KEY_FILE: pki.bridge.keyFile,
      MQTT_CLIENT_ID: clientId,
      ...extra,
    }),
    async startBridge(extra = {}, startOpts = {}) {
      const bridge = await startBridge(stack.bridgeEnv(extra), startOpts);
      bridges.push(bridge);
      return bridge;
    },
    async device(name, clientOpts = {}) {
      const pair = await pki.client(name);
      const client = deviceClient(broker, { ...pair, caFile: pki.caFile }, { reconnectPeriod: 500, ...clientOpts });
      devices.push(client);
      await waitFor(`device ${name} connected`, () => client.connected, 15_000);
      return client;
    },
    async close() {
      for (const d of devices) d.end(true);
      await Promise.all(bridges.map((b) => b.stop('SIGKILL')));
      await broker.stop().catch(() => undefined);
      await db.drop();
    },
  };
  return stack;
}
