/**
 * The reference Galera deployment of deploy/galera on this machine: three MariaDB nodes with
 * galera-4, galera-check on each, and HAProxy, all started from the SHIPPED files. Only what
 * three nodes on one host need is changed: every 192.168.42.x address of the files becomes
 * 127.<a>.<b>.x (loopback addresses, random per run), so that each node listens on the standard
 * ports 3306, 4567, 4568, 4444 and 9200 as in production; and a few test-only lines, marked so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { atExit, tempDir } from './cleanup.js';
import type { DbServer } from './database.js';
import { REPO_ROOT } from './pki.js';
import { waitFor } from './wait.js';

const GALERA_DIR = join(REPO_ROOT, 'deploy', 'galera');
const SHIPPED_NETWORK = '192.168.42';
const NODE_COUNT = 3;
const START_TIMEOUT_MS = 90_000;

/** A child process whose output is kept, killed when the test process ends. */
class Proc {
  private output = '';
  private readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[]) {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    atExit(() => child.kill('SIGKILL'));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.output;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 30 s: a shutdown must not hang the run). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const forced = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(forced);
  }
}

function shipped(file: string): string {
  return readFileSync(join(GALERA_DIR, file), 'utf8');
}

/** The shipped text with its 192.168.42.x addresses on `network`; each of `expected` must be there. */
function onNetwork(text: string, network: string, expected: string[]): string {
  for (const host of expected) {
    if (!text.includes(`${SHIPPED_NETWORK}.${host}`)) throw new Error(`deploy/galera: ${SHIPPED_NETWORK}.${host} is no longer in the shipped file`);
  }
  return text.replaceAll(`${SHIPPED_NETWORK}.`, `${network}.`);
}

/** A my.cnf for node `index` (1..3): the shipped 60-galera.cnf and nodeN.cnf, with the test's paths. */
function nodeConfig(index: number, network: string, dir: string): string {
  const common = shipped('mariadb/60-galera.cnf');
  const own = shipped(`mariadb/node${index}.cnf`);
  if (/^\s*wsrep_provider_options/m.test(common + own)) throw new Error('deploy/galera sets wsrep_provider_options: merge it into the test-only one below');
  const address = `${network}.1${index}`;
  return [
    '# test only: this node\'s files, and root (the tests run as root); small memory and logs',
    '[mysqld]',
    `datadir = ${join(dir, 'data')}`,
    `socket = ${join(dir, 'mysqld.sock')}`,
    `pid-file = ${join(dir, 'mysqld.pid')}`,
    `log-error = ${join(dir, 'error.log')}`,
    'user = root',
    'innodb_buffer_pool_size = 64M',
    'innodb_log_file_size = 16M',
    '',
    onNetwork(common, network, ['11', '12', '13']),
    onNetwork(own, network, [`1${index}`]),
    '# test only: three nodes on one host, so replication and the SST stream listen on this',
    '# node\'s address only (in production, on every interface of their host); a small gcache',
    '[galera]',
    `wsrep_provider_options = "gmcast.listen_addr=tcp://${address}:4567;gcache.size=32M"`,
    '[sst]',
    `sockopt = ",bind=${address}"`,
    '',
  ].join('\n');
}

/** The saved view of a primary component of `members` (gvwstate.dat), as a running node writes it. */
function savedView(own: string, members: string[]): string {
  return [`my_uuid: ${own}`, '#vwbeg', `view_id: 3 ${members[0]} 1`, 'bootstrap: 0', ...members.map((m) => `member: ${m} 0`), '#vwend', ''].join('\n');
}

export type WsrepStatus = Record<string, string>;

export class GaleraNode {
  private process: Proc | undefined;
  readonly name: string;
  readonly address: string;
  private readonly cnf: string;

  constructor(
    readonly index: number,
    network: string,
    readonly dir: string,
  ) {
    this.name = `node${index}`;
    this.address = `${network}.1${index}`;
    this.cnf = join(dir, 'my.cnf');
    mkdirSync(dir, { recursive: true });
    writeFileSync(this.cnf, nodeConfig(index, network, dir));
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get socket(): string {
    return join(this.dir, 'mysqld.sock');
  }

  /** The node's error log (MariaDB and galera), for failure messages. */
  errorLog(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Starts mariadbd (without waiting): a member of the cluster, or its first node with `--wsrep-new-cluster`. */
  start(...args: string[]): void {
    this.process = new Proc('mariadbd', [`--defaults-file=${this.cnf}`, ...args]);
  }

  async install(): Promise<void> {
    const install = new Proc('mariadb-install-db', [`--defaults-file=${this.cnf}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db']);
    if ((await install.exited) !== 0) throw new Error(`mariadb-install-db failed: ${install.log()}`);
  }

  /**
   * After a crash: what Debian's mariadb.service does before starting a Galera node
   * (galera_recovery): read the last committed position from InnoDB, so that the node asks the
   * cluster for the missing transactions only (IST) instead of a full copy (SST).
   */
  async restartAfterCrash(): Promise<void> {
    const logFile = join(this.dir, 'recovery.log');
    await new Proc('mariadbd', [`--defaults-file=${this.cnf}`, '--wsrep-recover', `--log-error=${logFile}`]).exited;
    const position = /WSREP: Recovered position: (\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
    if (position === undefined) throw new Error(`${this.name}: no position recovered:\n${readFileSync(logFile, 'utf8')}`);
    this.start(`--wsrep-start-position=${position}`);
  }

  /** SIGKILL: the node's process dies at once, as in a crash. */
  kill(): Promise<void> {
    return this.process?.stop('SIGKILL') ?? Promise.resolve();
  }

  /** A clean shutdown. */
  stop(): Promise<void> {
    return this.process?.stop('SIGTERM') ?? Promise.resolve();
  }

  /** A query as root through the node's socket (the admin's view of this node, never through the proxy). */
  async query<T extends RowDataPacket[]>(sql: string, params: unknown[] = []): Promise<T> {
    const conn = await mysql.createConnection({ socketPath: this.socket, user: 'root', password: '', connectTimeout: 2_000 });
    try {
      const [rows] = await conn.query<T>(sql, params);
      return rows;
    } finally {
      conn.destroy();
    }
  }

  async wsrepStatus(): Promise<WsrepStatus> {
    const rows = await this.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'");
    return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
  }

  /** Waits until the node is Synced in a Primary component of `size` nodes. */
  async waitSynced(size = NODE_COUNT, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await waitFor(
      `${this.name} Synced in a Primary component of ${size}`,
      async () => {
        if (this.process && !this.process.running) throw new Error(`${this.name} exited:\n${this.errorLog().slice(-3000)}`);
        const s = await this.wsrepStatus();
        return s.wsrep_local_state_comment === 'Synced' && s.wsrep_cluster_status === 'Primary' && s.wsrep_cluster_size === String(size);
      },
      timeoutMs,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.name}'s log:\n${this.errorLog().slice(-3000)}`);
    });
  }

  /** Cuts this node off from the others, as a network partition would: it leaves the Primary component. */
  async isolate(): Promise<void> {
    await this.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'");
  }
}

/** galera-check as galera-check@<address>.service runs it: the shipped unit's ExecStart. */
function startCheck(node: GaleraNode): Proc {
  const unit = shipped('galera-check/galera-check@.service');
  const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  const shippedScript = 'EXEC:/usr/local/bin/galera-check';
  if (execStart === undefined || !execStart.includes(shippedScript)) throw new Error(`galera-check@.service: no ExecStart running ${shippedScript}`);
  // The repository's script, logging in through this node's socket (root, as the test runs).
  const script = `EXEC:${join(GALERA_DIR, 'galera-check', 'galera-check')} --socket=${node.socket}`;
  const [command, ...args] = execStart.replaceAll('%i', node.address).split(' ').map((a) => (a === shippedScript ? script : a));
  return new Proc(command!, args);
}

export interface Haproxy {
  /** The proxy as a database server for root (the bridge gets its own account). */
  server: DbServer;
  /** Each node's state in HAProxy (UP, DOWN, ...). */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Sends one command to HAProxy's stats socket and returns its answer. */
function statsCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
  });
}

/** HAProxy from the shipped haproxy.cfg, in the foreground. */
async function startHaproxy(network: string, dir: string): Promise<Haproxy> {
  const statsSocket = join(dir, 'admin.sock');
  const replace = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`haproxy.cfg: "${from}" is no longer there`);
    return text.replace(from, to);
  };
  let cfg = onNetwork(shipped('haproxy/haproxy.cfg'), network, ['10', '11', '12', '13']);
  cfg = replace(cfg, '/run/haproxy/admin.sock', statsSocket);
  // No syslog here: its log lines go with its output.
  cfg = replace(cfg, 'log /dev/log local0', 'log stderr format raw local0');
  const cfgFile = join(dir, 'haproxy.cfg');
  writeFileSync(cfgFile, cfg);
  const proc = new Proc('haproxy', ['-db', '-f', cfgFile]);
  const proxy: Haproxy = {
    server: { host: `${network}.10`, port: 3306, user: 'root', password: '' },
    async states() {
      const csv = await statsCommand(statsSocket, 'show stat');
      const [header, ...rows] = csv.trim().split('\n');
      const columns = header!.replace(/^# /, '').split(',');
      const at = (name: string) => columns.indexOf(name);
      return Object.fromEntries(
        rows.map((r) => r.split(',')).filter((f) => f[at('pxname')] === 'galera' && /^node\d$/.test(f[at('svname')]!)).map((f) => [f[at('svname')]!, f[at('status')]!]),
      );
    },
    stop: () => proc.stop(),
  };
  await waitFor(
    'HAProxy sees node1 UP',
    async () => {
      if (!proc.running) throw new Error(`haproxy exited:\n${proc.log()}`);
      return (await proxy.states()).node1 === 'UP';
    },
    30_000,
    200,
  );
  return proxy;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  proxy: Haproxy;
  destroy(): Promise<void>;
}

/**
 * Three Synced nodes, their checks and HAProxy. The nodes start from copies of one seeded data
 * directory with the saved view of a 3-node primary component, which galera restores when all
 * its members are back (pc.recovery, as after a power cut of the whole cluster): the cluster
 * forms in seconds without a state transfer at start. The transfers themselves run when a
 * killed node rejoins (restartAfterCrash).
 */
export async function startGaleraCluster(): Promise<GaleraCluster> {
  const network = `127.${randomInt(100, 255)}.${randomInt(1, 255)}`;
  const root = tempDir('parc-galera-');
  const nodes = Array.from({ length: NODE_COUNT }, (_, i) => new GaleraNode(i + 1, network, join(root, `node${i + 1}`)));
  const checks: Proc[] = [];
  let proxy: Haproxy | undefined;
  const destroy = async () => {
    await Promise.all([proxy?.stop(), ...checks.map((c) => c.stop('SIGKILL')), ...nodes.map((n) => n.kill())]);
    // Here rather than only at exit: removing some 150 MB may outlast the test worker's end.
    if (!process.env.KEEP_TEST_FILES) await rm(root, { recursive: true, force: true });
  };
  try {
    const [first] = nodes as [GaleraNode];
    await first.install();
    first.start('--wsrep-new-cluster');
    await first.waitSynced(1);
    await first.stop();
    const members = nodes.map(() => randomUUID());
    for (const [i, node] of nodes.entries()) {
      if (node !== first) cpSync(first.dataDir, node.dataDir, { recursive: true });
      writeFileSync(join(node.dataDir, 'gvwstate.dat'), savedView(members[i]!, members));
    }
    for (const node of nodes) node.start();
    await Promise.all(nodes.map((n) => n.waitSynced()));
    checks.push(...nodes.map(startCheck));
    proxy = await startHaproxy(network, root);
    return { nodes, proxy, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
