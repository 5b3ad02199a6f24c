/**
 * A region on this machine, from the SHIPPED files: a central Mosquitto from
 * deploy/central-broker/mosquitto.conf with its ACL made by `parc-bridge acl --central`, and
 * school Mosquittos from deploy/site-broker/mosquitto.conf written by its configure.sh, with the
 * plugin its build.sh makes and the school bridge identity `clients-certs.sh --site-bridge`
 * makes. Each school reaches the central broker through a TCP link the test can cut. Only
 * container paths, listener ports and (as root) the user are rewritten, as test/helpers/broker.ts
 * does for the single-school broker.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { IClientOptions, MqttClient } from 'mqtt';
import { CLI } from './bridge-process.js';
import { deviceClient, localConfig, superviseMosquitto, waitForLog, type Broker } from './broker.js';
import { atExit, tempDir } from './cleanup.js';
import { clientPaths, makePki, REPO_ROOT, runScript, type Pki } from './pki.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const SITE_DIR = path.join(REPO_ROOT, 'deploy', 'site-broker');
const CENTRAL_CONF = path.join(REPO_ROOT, 'deploy', 'central-broker', 'mosquitto.conf');

function pkiPaths(pki: Pki): Array<[string, string]> {
  return [
    ['/mosquitto/certs/ca.crt', pki.caFile],
    ['/mosquitto/certs/ca.crl', path.join(path.dirname(pki.caFile), 'ca.crl')],
    ['/mosquitto/certs/server.crt', pki.server.certFile],
    ['/mosquitto/certs/server.key', pki.server.keyFile],
  ];
}

export interface CentralBroker extends Broker {
  pki: Pki;
  /** The listener for school brokers (8884 in the shipped file). */
  schoolPort: number;
  aclFile: string;
}

/** `parc-bridge acl --central --school …`, as the central operator runs it. */
export function generateCentralAcl(schools: string[], out: string): void {
  const r = spawnSync(process.execPath, [CLI, 'acl', '--central', ...schools.flatMap((s) => ['--school', s]), '--out', out], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`acl --central exited ${r.status}: ${r.stderr}`);
}

export async function startCentralBroker(pki: Pki, schools: string[]): Promise<CentralBroker> {
  const [port, schoolPort] = [await freePort(), await freePort()];
  const workDir = tempDir('parc-central-');
  const dataDir = path.join(workDir, 'data');
  await mkdir(dataDir);
  const aclFile = path.join(workDir, 'acl.generated');
  generateCentralAcl(schools, aclFile);
  const paths = new Map([...pkiPaths(pki), ['/mosquitto/config/acl.generated', aclFile], ['/mosquitto/data/', `${dataDir}/`]]);
  const confFile = path.join(workDir, 'mosquitto.conf');
  await writeFile(confFile, localConfig(await readFile(CENTRAL_CONF, 'utf8'), new Map([[8883, port], [8884, schoolPort]]), paths));
  const broker = await superviseMosquitto(confFile, port, pki, dataDir);
  return Object.assign(broker, { pki, schoolPort, aclFile });
}

let plugin: Promise<string> | undefined;

/** deploy/site-broker/plugin/build.sh, once per test process. */
export function buildStripRetainPlugin(): Promise<string> {
  plugin ??= (async () => {
    const out = path.join(tempDir('parc-plugin-'), 'parc-strip-retain.so');
    await run(path.join(SITE_DIR, 'plugin', 'build.sh'), [out]);
    return out;
  })();
  return plugin;
}

/**
 * A TCP link between a school broker and the central broker, in a process of its own (a router
 * does not wait for the test's event loop). cut() resets its connections and every new one
 * until restore(): what a dead line or a stopped router looks like to Mosquitto. (Not a link that
 * accepts and closes cleanly: that one hangs Mosquitto 2.0.11, deploy/site-broker/README.md.)
 */
export interface Link {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

const LINK_PROCESS = `
const net = require('node:net');
const target = Number(process.argv[1]);
let down = false;
const pairs = new Set();
const server = net.createServer((school) => {
  if (down) return school.resetAndDestroy();
  const central = net.connect(target, '127.0.0.1');
  const pair = [school, central];
  pairs.add(pair);
  const end = () => { pairs.delete(pair); school.destroy(); central.destroy(); };
  for (const s of pair) s.on('error', end).on('close', end);
  school.pipe(central);
  central.pipe(school);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
require('node:readline').createInterface({ input: process.stdin }).on('line', (command) => {
  down = command === 'cut';
  if (down) for (const pair of pairs) for (const s of pair) s.resetAndDestroy();
  if (down) pairs.clear();
  console.log(command);
});
`;

export async function startLink(targetPort: number): Promise<Link> {
  const child = spawn(process.execPath, ['-e', LINK_PROCESS, String(targetPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
  atExit(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  const port = Number(await next());
  const command = async (name: 'cut' | 'restore') => {
    const ack = next();
    child.stdin!.write(`${name}\n`);
    if ((await ack) !== name) throw new Error(`link: no acknowledgement of "${name}"`);
  };
  return { port, cut: () => command('cut'), restore: () => command('restore') };
}

export interface SchoolBroker extends Broker {
  school: string;
  /** The school's own PKI: its CA signs its devices and its broker. */
  pki: Pki;
  link: Link;
}

export interface SchoolOptions {
  /** Load parc-strip-retain (as shipped); false shows what it prevents. */
  plugin?: boolean;
  /** Lines replacing the `plugin` line (e.g. `retain_available false`). */
  insteadOfPlugin?: string;
  /** Lines appended to the bridge's section (e.g. a shorter restart_timeout for a fault test). */
  bridgeExtra?: string;
}

/**
 * A school broker: configure.sh <school> 127.0.0.1:<link port>, the school bridge identity made
 * in the central PKI by `clients-certs.sh --site-bridge <school>`, the link to the central
 * broker's school listener.
 */
export async function startSchoolBroker(school: string, pki: Pki, central: CentralBroker, opts: SchoolOptions = {}): Promise<SchoolBroker> {
  const identity = clientPaths(central.pki.dir, `site-bridge-${school}`);
  if (!existsSync(identity.certFile)) {
    const made = await runScript('clients-certs.sh', ['--site-bridge', school], { PKI_DIR: central.pki.dir });
    if (made.code !== 0) throw new Error(`clients-certs.sh --site-bridge ${school} exited ${made.code}: ${made.stderr}`);
  }
  const link = await startLink(central.schoolPort);
  const workDir = tempDir(`parc-school-${school}-`);
  const dataDir = path.join(workDir, 'data');
  await mkdir(dataDir);
  const written = path.join(workDir, 'configured.conf');
  await run(path.join(SITE_DIR, 'configure.sh'), [school, `127.0.0.1:${link.port}`, written]);

  let shipped = await readFile(written, 'utf8');
  const pluginLine = 'plugin /mosquitto/plugins/parc-strip-retain.so';
  if (!shipped.split('\n').includes(pluginLine)) throw new Error(`site mosquitto.conf: no "${pluginLine}" line`);
  const paths = new Map([
    ...pkiPaths(pki),
    ['/mosquitto/config/acl', path.join(SITE_DIR, 'acl')],
    ['/mosquitto/data/', `${dataDir}/`],
    ['/mosquitto/central-certs/ca.crt', identity.caFile],
    ['/mosquitto/central-certs/client.crt', identity.certFile],
    ['/mosquitto/central-certs/client.key', identity.keyFile],
  ]);
  if (opts.plugin === false) shipped = shipped.replace(pluginLine, opts.insteadOfPlugin ?? '# plugin left out by the test');
  else paths.set('/mosquitto/plugins/parc-strip-retain.so', await buildStripRetainPlugin());
  const port = await freePort();
  const confFile = path.join(workDir, 'mosquitto.conf');
  await writeFile(confFile, `${localConfig(shipped, new Map([[8883, port]]), paths)}\n${opts.bridgeExtra ?? ''}\n`);
  const broker = await superviseMosquitto(confFile, port, pki, dataDir);
  return Object.assign(broker, { school, pki, link });
}

/** A central broker and one school broker per name, each school's bridge connected to it. */
export async function startRegion(names: string[], opts: SchoolOptions = {}): Promise<{ central: CentralBroker; schools: SchoolBroker[] }> {
  const [centralPki, ...schoolPkis] = await Promise.all([makePki(), ...names.map(() => makePki())]);
  const central = await startCentralBroker(centralPki!, names);
  const schools: SchoolBroker[] = [];
  for (const [k, school] of names.entries()) {
    schools.push(await startSchoolBroker(school, schoolPkis[k]!, central, opts));
    await waitForLog(central, new RegExp(`New bridge connected .* as site-bridge-${school} `), 30_000);
  }
  return { central, schools };
}

/** A device of the school (its own CA), reconnecting quickly, once connected. */
export async function schoolDevice(school: SchoolBroker, mac: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = deviceClient(school, { ...(await school.pki.client(mac)), caFile: school.pki.caFile }, { reconnectPeriod: 500, ...opts });
  await waitFor(`device ${mac} of ${school.school} connected`, () => client.connected, 15_000);
  return client;
}
