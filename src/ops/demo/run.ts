import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadBridgeConfig, loadDbConfig, type DbConfig } from '../../config.js';
import type { Pool } from '../../db/pool.js';
import { errorMessage } from '../../error-message.js';
import { startDemoBroker } from './broker.js';
import { startChild, type Child } from './child.js';
import { demoProgress, inspectDemoDatabase, prepareDemoDatabase } from './database.js';
import { databaseStateRefusal, mayMarkAsDemo, productionNameRefusal } from './database-guard.js';
import { demoLayout, type DemoLayout } from './layout.js';
import { makeDemoPki } from './pki.js';
import { freePortPreferring } from './ports.js';

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));
const PROGRESS_EVERY_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;

export interface DemoOptions {
  dir: string;
  serres: number;
  bacs: number;
  rate: number;
  /** The demo's database: never DB_NAME from the environment (database-guard.ts). */
  dbName: string;
  /** Use the database even if it is `parc` or holds serres the demo did not make. */
  forceDb: boolean;
}

export interface DemoIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves on Ctrl-C / SIGTERM. */
  stopRequested: Promise<void>;
}

type Env = Record<string, string | undefined>;

const EXIT_REFUSED = 2;

/**
 * The demo's database settings: the local server as root unless DB_HOST, DB_USER, DB_PASSWORD
 * say otherwise; the database is always `dbName`, whatever DB_NAME says.
 */
export function demoDbEnv(env: Env, dbName: string): Env {
  const server: Env = { DB_HOST: '127.0.0.1', DB_USER: 'root', DB_PASSWORD: '' };
  for (const key of Object.keys(server)) if (env[key] !== undefined && (env[key] !== '' || key === 'DB_PASSWORD')) server[key] = env[key];
  return { ...env, ...server, DB_NAME: dbName };
}

function bridgeEnv(env: Env, dbName: string, layout: DemoLayout, mqttPort: number, httpPort: number): Env {
  return {
    ...demoDbEnv(env, dbName),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    MQTT_TLS: 'true',
    MQTT_CA_FILE: layout.caFile,
    MQTT_CERT_FILE: layout.bridgeCert,
    MQTT_KEY_FILE: layout.bridgeKey,
    DATA_DIR: layout.bridgeDataDir,
    HTTP_PORT: String(httpPort),
  };
}

/** The name is checked before connecting, so that `parc` is never even looked into. */
async function checkDemoDatabase(db: DbConfig, force: boolean): Promise<{ refusal: string } | { markAsDemo: boolean }> {
  const nameRefusal = productionNameRefusal(db.database, force);
  if (nameRefusal) return { refusal: nameRefusal };
  const state = await inspectDemoDatabase(db);
  const stateRefusal = databaseStateRefusal(db.database, state, force);
  return stateRefusal ? { refusal: stateRefusal } : { markAsDemo: mayMarkAsDemo(state) };
}

async function waitReady(httpPort: number, bridge: Child, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (bridge.exitCode() !== undefined) throw new Error(`the bridge exited (${bridge.exitCode()}); see ${logFile}`);
    const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the bridge was not ready within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * `parc-bridge demo`: the whole chain on this machine, without Docker. A private Mosquitto from
 * the shipped config (mTLS, certificates made once by the project's scripts), a migrated demo
 * database, the bridge and simulated controllers; progress every 10 s until Ctrl-C, which stops
 * them in order (controllers, bridge with its flush, broker). A second run reuses the folder.
 */
export async function runDemo(opts: DemoOptions, env: Env, io: DemoIo): Promise<number> {
  const layout = demoLayout(opts.dir);
  // Every problem of the DB_* settings at once, before anything is made.
  const { db } = loadDbConfig(demoDbEnv(env, opts.dbName));
  if (env.DB_NAME && env.DB_NAME !== opts.dbName) {
    io.out(`demo: DB_NAME (${env.DB_NAME}) is the bridge's setting and not used here; the demo's database is ${opts.dbName} (--db-name)`);
  }
  // Before anything is made: a real installation's database is not the demo's to fill.
  const target = await checkDemoDatabase(db, opts.forceDb);
  if ('refusal' in target) {
    io.err(`demo: refused: ${target.refusal}`);
    return EXIT_REFUSED;
  }
  const { markAsDemo } = target;
  await mkdir(layout.dir, { recursive: true });
  const made = await makeDemoPki(layout);
  io.out(`demo: PKI in ${layout.pkiDir} (${made ? 'made by mosquitto/server-certs.sh and clients-certs.sh' : 'reused'})`);
  const mqttPort = await freePortPreferring(env.MQTT_PORT ? Number(env.MQTT_PORT) : undefined);
  const httpPort = await freePortPreferring(env.HTTP_PORT ? Number(env.HTTP_PORT) : 8080);
  const forBridge = bridgeEnv(env, db.database, layout, mqttPort, httpPort);
  const config = loadBridgeConfig(forBridge);

  const children: Child[] = [];
  let pool: Pool | undefined;
  try {
    children.push(await startDemoBroker(layout, mqttPort));
    io.out(`demo: Mosquitto (shipped mosquitto.conf, mutual TLS) on 127.0.0.1:${mqttPort}, log ${layout.logs.broker}`);
    pool = await prepareDemoDatabase(db, opts.serres, opts.bacs, markAsDemo);
    io.out(`demo: database ${db.database} on ${db.user}@${db.host}:${db.port}, migrated, ${opts.serres} serre(s) of ${opts.bacs} bac(s)`);
    const bridge = await startChild('bridge', () => spawn(process.execPath, [CLI, 'start'], { env: forBridge, detached: true, stdio: 'pipe' }), layout.logs.bridge);
    children.push(bridge);
    await waitReady(httpPort, bridge, layout.logs.bridge);
    io.out(`demo: bridge ready, journal in ${layout.bridgeDataDir}, log ${layout.logs.bridge}`);
    const simulateArgs = ['simulate', '--serres', String(opts.serres), '--bacs', String(opts.bacs), '--rate', String(opts.rate), '--qos', '1', '--certs-dir', layout.deviceCertsDir, '--make-certs'];
    const simulateEnv = { ...env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), PKI_DIR: layout.pkiDir, MQTT_CA_FILE: layout.caFile };
    children.push(await startChild('simulate', () => spawn(process.execPath, [CLI, ...simulateArgs], { env: simulateEnv, detached: true, stdio: 'pipe' }), layout.logs.simulate));
    io.out(`demo: ${opts.serres} simulated controller(s) publishing ${opts.rate} reading(s)/s in all, log ${layout.logs.simulate}`);
    io.out(`demo: status page http://127.0.0.1:${httpPort}/  (Ctrl-C stops everything)`);

    const died = Promise.race(children.map((c) => c.exited.then(() => c)));
    for (;;) {
      const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), PROGRESS_EVERY_MS).unref());
      const event = await Promise.race([io.stopRequested.then(() => 'stop' as const), died, tick]);
      if (event === 'stop') break;
      if (event !== 'tick') {
        io.err(`demo: ${event.name} exited (${event.exitCode()}); stopping. Logs: ${layout.dir}/*.log`);
        return 1;
      }
      const p = await demoProgress(pool).catch((err: unknown) => errorMessage(err));
      io.out(typeof p === 'string' ? `demo: database not answering (${p})` : `demo: ${p.mesure} rows in mesure, ${p.controllersOnline} controller(s) online, ${p.errors} error rows`);
    }
    io.out('demo: stopping the controllers, then the bridge (it writes its journal to the database), then the broker');
    const simulateCode = await children.pop()?.stop();
    const bridgeCode = await children.pop()?.stop(config.shutdownTimeoutMs + 10_000);
    await children.pop()?.stop();
    if (simulateCode !== 0 || bridgeCode !== 0) {
      io.err(`demo: simulate exited ${simulateCode}, the bridge ${bridgeCode}; logs: ${layout.dir}/*.log`);
      return 1;
    }
    io.out('demo: stopped');
    return 0;
  } finally {
    // Whatever is still running after an error, last started first.
    for (const child of children.reverse()) await child.stop(child.name === 'bridge' ? config.shutdownTimeoutMs + 10_000 : 10_000);
    await pool?.end();
  }
}
