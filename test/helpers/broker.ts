/**
 * A real Mosquitto started from the SHIPPED mosquitto/config/mosquitto.conf and acl: only the
 * container paths, the port and (as root) the run-as user are rewritten, so every test that
 * goes through this broker also tests the production broker settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { atExit } from './cleanup.js';
import { tempDir } from './cleanup.js';
import { MOSQUITTO_DIR, type CertPair, type Pki } from './pki.js';

export interface Broker {
  host: string;
  port: number;
  url: string;
  dataDir: string;
  /** Starts it again on the same port with the same data dir (persistent sessions survive). */
  start(): Promise<void>;
  /** SIGTERM and wait: Mosquitto saves its persistence file on the way out. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, nothing saved since the last autosave. */
  kill(): Promise<void>;
  /** SIGHUP, as `docker compose kill -s SIGHUP mosquitto`; resolves once the broker logged its reload. */
  reload(): Promise<void>;
  /** Everything the broker printed so far, across restarts. */
  log(): string;
  /** The running broker's process id (the benchmark measures its CPU). */
  readonly pid: number | undefined;
}

const SHIPPED_CONF = path.join(MOSQUITTO_DIR, 'config', 'mosquitto.conf');
const SHIPPED_ACL_LINE = 'acl_file /mosquitto/config/acl';

/**
 * The ACL the broker runs with: a shipped one (the default, or the hardening that binds
 * controleur/<MAC> to CN=<MAC>), or any file (`{ file }`, e.g. one made by `parc-bridge acl`).
 */
export type ShippedAcl = 'acl' | 'acl.mac-cn';
export type BrokerAcl = ShippedAcl | { file: string };
const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? (existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto');
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * A shipped configuration with its container paths and listener ports pointed at this machine.
 * Every /mosquitto/… path and every listener must have a mapping: a new one in the shipped file
 * fails here instead of being silently left out.
 */
export function localConfig(shipped: string, listeners: ReadonlyMap<number, number>, paths: ReadonlyMap<string, string>): string {
  const unused = new Set<number | string>([...listeners.keys(), ...paths.keys()]);
  const lines = shipped.split('\n').map((line) => {
    if (line.startsWith('#')) return line;
    const listener = /^listener (\d+)$/.exec(line);
    if (listener) {
      const port = listeners.get(Number(listener[1]));
      if (port === undefined) throw new Error(`shipped config: no test port for "${line}"`);
      unused.delete(Number(listener[1]));
      return `listener ${port} 127.0.0.1`;
    }
    if (/^listener\b/.test(line)) throw new Error(`shipped config: unexpected listener "${line}"`);
    return line.replace(/\/mosquitto\/\S*/g, (containerPath) => {
      const local = paths.get(containerPath);
      if (local === undefined) throw new Error(`shipped config: no test mapping for ${containerPath}`);
      unused.delete(containerPath);
      return local;
    });
  });
  if (unused.size > 0) throw new Error(`shipped config no longer has ${[...unused].join(', ')}`);
  // Mosquitto 2 drops root for the "mosquitto" user before reading the key files, which the
  // scripts made readable by their owner only; tests run as root, so stay root here.
  const asRoot = process.getuid?.() === 0 ? '\n# test only\nuser root\n' : '';
  return `${lines.join('\n')}${asRoot}`;
}

/**
 * The shipped config with its container paths pointed at the test PKI and data dir. `acl`
 * switches the acl_file line the way the operator does (docs/deployment.md). The revocation
 * list is the one next to the PKI's ca.crt (server-certs/ca.crl, as in the container).
 */
export function testBrokerConfig(shipped: string, pki: Pki, port: number, dataDir: string, acl: BrokerAcl = 'acl'): string {
  const aclPath = typeof acl === 'string' ? `/mosquitto/config/${acl}` : '/mosquitto/config/acl.generated';
  const paths = new Map<string, string>([
    ['/mosquitto/certs/ca.crt', pki.caFile],
    ['/mosquitto/certs/ca.crl', path.join(path.dirname(pki.caFile), 'ca.crl')],
    ['/mosquitto/certs/server.crt', pki.server.certFile],
    ['/mosquitto/certs/server.key', pki.server.keyFile],
    ['/mosquitto/data/', `${dataDir}/`],
    [aclPath, typeof acl === 'string' ? path.join(MOSQUITTO_DIR, 'config', acl) : acl.file],
  ]);
  if (!shipped.split('\n').includes(SHIPPED_ACL_LINE)) throw new Error(`shipped mosquitto.conf: no "${SHIPPED_ACL_LINE}" line`);
  const withAcl = shipped.split('\n').map((line) => (line === SHIPPED_ACL_LINE ? `acl_file ${aclPath}` : line)).join('\n');
  return localConfig(withAcl, new Map([[8883, port]]), paths);
}

/** Resolves once a TLS handshake with the broker succeeds; rejects if the broker exits first. */
async function waitForTls(port: number, pki: Pki, child: ChildProcess, log: () => string): Promise<void> {
  const ca = readFileSync(pki.caFile);
  const cert = readFileSync(pki.bridge.certFile);
  const key = readFileSync(pki.bridge.keyFile);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mosquitto exited (${child.exitCode ?? child.signalCode}) while starting:\n${log()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, cert, key }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not accept TLS on port ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startBroker(pki: Pki, opts: { port?: number; extraConfig?: string; acl?: BrokerAcl } = {}): Promise<Broker> {
  const port = opts.port ?? (await freePort());
  const workDir = await tempDir('parc-broker-');
  const dataDir = path.join(workDir, 'data');
  await mkdir(dataDir);
  const confFile = path.join(workDir, 'mosquitto.conf');
  const shipped = await readFile(SHIPPED_CONF, 'utf8');
  await writeFile(confFile, testBrokerConfig(shipped, pki, port, dataDir, opts.acl) + (opts.extraConfig ? `\n${opts.extraConfig}\n` : ''));
  return superviseMosquitto(confFile, port, pki, dataDir);
}

/**
 * Runs Mosquitto on `confFile` (any configuration, e.g. a school or central broker's) and
 * resolves once `port` completes a TLS handshake with the bridge identity of `pki`.
 */
export async function superviseMosquitto(confFile: string, port: number, pki: Pki, dataDir: string): Promise<Broker> {
  const output: string[] = [];
  let child: ChildProcess | undefined;
  // The broker must not outlive the test process, whatever happens to the test (registered
  // after its directory, so it is killed before the directory is removed).
  atExit(() => child?.kill('SIGKILL'));

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(MOSQUITTO_BIN, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => output.push(d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => output.push(d));
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', reject);
    });
    await spawned;
    try {
      await waitForTls(port, pki, proc, () => output.join(''));
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await waitForExit(proc);
    clearTimeout(timer);
  };

  await start();
  return {
    host: '127.0.0.1',
    port,
    url: `mqtts://127.0.0.1:${port}`,
    dataDir,
    start,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async reload() {
      const reloads = () => output.join('').split('Reloading config.').length;
      const before = reloads();
      child?.kill('SIGHUP');
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (reloads() === before) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not log a reload after SIGHUP:\n${output.join('')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    log: () => output.join(''),
    get pid() {
      return child?.pid;
    },
  };
}

/** Resolves once the broker's log matches (e.g. a client's disconnection); rejects after timeoutMs. */
export async function waitForLog(broker: Broker, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(broker.log())) {
    if (Date.now() > deadline) throw new Error(`broker log never matched ${pattern}:\n${broker.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An MQTT client with a device's (or the bridge's) certificate; no automatic reconnect. */
export function deviceClient(broker: Broker, pair: CertPair & { caFile: string }, opts: IClientOptions = {}): MqttClient {
  return connect(broker.url, {
    ca: readFileSync(pair.caFile),
    cert: readFileSync(pair.certFile),
    key: readFileSync(pair.keyFile),
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...opts,
  });
}

export type ConnectOutcome = { connected: true } | { connected: false; error: Error | undefined };

/** How a connection attempt ended: CONNACK accepted, or refused / closed with the error seen. */
export function connectOutcome(client: MqttClient): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    let error: Error | undefined;
    client.once('connect', () => resolve({ connected: true }));
    client.on('error', (err) => {
      error ??= err;
    });
    client.once('close', () => resolve({ connected: false, error }));
  });
}
