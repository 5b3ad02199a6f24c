/**
 * The highly available database of deploy/galera on real engines: three MariaDB 10.11 nodes with
 * galera-4, galera-check on each, HAProxy 2.6, all from the shipped files (helpers/galera.ts).
 * Devices stream readings and controllers change state at QoS 0, as the firmware publishes. One
 * bridge writes through HAProxy, as the guide says; another is pointed at node1 directly, as it
 * says not to. node1, the node HAProxy sends the writes to, is SIGKILLed mid-stream, then rejoins.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, newDataDir, type BridgeProcess } from '../helpers/bridge-process.js';
import { controleurRow } from '../helpers/controleur.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startGaleraCluster, type GaleraCluster, type GaleraNode } from '../helpers/galera.js';
import { publishAsync, SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';

let cluster: GaleraCluster;
let stack: Stack;
/** The database of the bridge pointed at node1: the same cluster, a database of its own. */
let directDb: TestDatabase;

beforeAll(async () => {
  cluster = await startGaleraCluster();
  stack = await createStack({ dbServer: cluster.proxy.server });
  directDb = await createTestDatabase(cluster.proxy.server);
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await directDb?.drop();
  await cluster?.destroy();
});

/**
 * Controllers that go online (with a new IP each time) and offline in turn, at QoS 0, until
 * stopped; each then sends a last event, so that the state each must end in is known.
 */
class FlappingControllers {
  private timer: NodeJS.Timeout | undefined;
  private round = 0;
  private readonly lastIp = new Map<string, string>();

  constructor(private readonly devices: Map<string, MqttClient>) {}

  private event(mac: string, c: number, online: boolean): Promise<void> {
    if (!online) return publishAsync(this.devices.get(mac)!, `controleur/${mac}/disconnect`, '', 0);
    const ip = `10.9.${c}.${this.round % 250}`;
    this.lastIp.set(mac, ip);
    return publishAsync(this.devices.get(mac)!, `controleur/${mac}`, JSON.stringify({ ip, status: true }), 0);
  }

  start(everyMs: number): this {
    this.timer = setInterval(() => {
      this.round++;
      [...this.devices.keys()].forEach((mac, c) => void this.event(mac, c, this.round % 2 === 1));
    }, everyMs);
    return this;
  }

  /** Stops; the even controllers end online, the odd ones offline. Returns each one's last state. */
  async stop(): Promise<Map<string, { ip: string | null; status: number }>> {
    clearInterval(this.timer);
    this.round++;
    const final = new Map<string, { ip: string | null; status: number }>();
    for (const [c, mac] of [...this.devices.keys()].entries()) {
      const online = c % 2 === 0;
      await this.event(mac, c, online);
      final.set(mac, { ip: this.lastIp.get(mac) ?? null, status: online ? 1 : 0 });
    }
    return final;
  }
}

/** Sessions of `user` on each node, as the node itself lists them. */
async function sessionsPerNode(nodes: GaleraNode[], user: string): Promise<Record<string, number>> {
  const counts = await Promise.all(
    nodes.map(async (n) => Number((await n.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]))[0]!.n)),
  );
  return Object.fromEntries(nodes.map((n, i) => [n.name, counts[i]!]));
}

/** Milliseconds from `since` to the first log line at or after it with this message. */
function msUntilLog(bridge: BridgeProcess, message: RegExp, since: number): number | undefined {
  const line = bridge.logLines().find((l) => message.test(String(l.msg)) && Date.parse(String(l.time)) >= since);
  return line ? Date.parse(String(line.time)) - since : undefined;
}

const TAKES_WRITES_AGAIN = /^database takes writes again/;

describe('the writer node SIGKILLed mid-stream', () => {
  it('HAProxy moves the bridge to node2: nothing lost or doubled, every controller in its last state, back on node1 once it rejoins', async () => {
    const [node1, node2, node3] = cluster.nodes as [GaleraNode, GaleraNode, GaleraNode];
    const viaProxy = await stack.startBridge();
    // The same readings, written by a second bridge into its own database on node1 alone.
    const direct = await stack.startBridge({ ...directDb.env(), DB_HOST: node1.address, MQTT_CLIENT_ID: `parc-direct-${randomBytes(3).toString('hex')}` });

    const readers = await Promise.all([1, 2].map((b) => stack.device(`m5-serre-1-bac-${b}`)));
    const macs = [0, 1, 2, 3].map((c) => `24:6F:28:47:A1:0${c}`);
    const controllers = new FlappingControllers(new Map(await Promise.all(macs.map(async (mac) => [mac, await stack.device(mac)] as const))));
    const stream = new SteadyStream(readers, 25, 1, 0).start();
    controllers.start(200);
    await waitFor('both bridges writing', async () => (await stack.db.count('mesure')) > 50 && (await directDb.count('mesure')) > 50, 30_000);

    const killedAt = Date.now();
    await node1.kill();
    const failoverMs = await waitFor('the bridge writing through HAProxy again', () => msUntilLog(viaProxy, TAKES_WRITES_AGAIN, killedAt), 60_000);
    // The survivors evict node1, HAProxy has moved the bridge's sessions to node2, its first backup.
    await node2.waitSynced(2);
    expect(await cluster.proxy.states()).toMatchObject({ node1: expect.stringMatching(/^DOWN/), node2: expect.stringMatching(/^UP/) });
    expect((await sessionsPerNode([node2, node3], stack.db.bridgeUser)).node2).toBeGreaterThan(0);

    await node1.restartAfterCrash();
    await node1.waitSynced();
    const rejoinedMs = Date.now() - killedAt;
    await waitFor('HAProxy sends the writes to node1 again', async () => (await cluster.proxy.states()).node1 === 'UP', 30_000);
    // on-marked-up shutdown-backup-sessions: no session of the bridge is left on a backup.
    const sessions = await waitFor(
      'the bridge on node1 only',
      async () => {
        const s = await sessionsPerNode(cluster.nodes, stack.db.bridgeUser);
        return s.node1! > 0 && s.node2 === 0 && s.node3 === 0 ? s : undefined;
      },
      20_000,
      200,
    );
    const directLateMs = await waitFor('the bridge pointed at node1 writing again', () => msUntilLog(direct, TAKES_WRITES_AGAIN, killedAt), 60_000);
    await sleep(1_000);

    const sent = await stream.stop();
    const finalStates = await controllers.stop();
    const [throughProxy, toNode1] = await Promise.all([waitForDelivery(stack.db, sent), waitForDelivery(directDb, sent)]);
    console.info(
      `galera failover: from the SIGKILL of node1, the bridge commits through HAProxy after ${failoverMs} ms; node1 Synced again after ${rejoinedMs} ms; ` +
        `the bridge pointed at node1 commits again after ${directLateMs} ms; ${throughProxy.expected} readings: through HAProxy ${JSON.stringify(throughProxy)}, ` +
        `pointed at node1 ${JSON.stringify(toNode1)}; the bridge's sessions after failback ${JSON.stringify(sessions)}`,
    );

    for (const delivery of [throughProxy, toNode1]) {
      expect(delivery.lost).toBe(0);
      expect(delivery.duplicated).toBe(0);
    }
    const controllersIn = async (db: TestDatabase) => (await Promise.all(macs.map((mac) => controleurRow(db, mac)))).map((row, c) => [macs[c], row]);
    const expected = macs.map((mac) => [mac, finalStates.get(mac)]);
    for (const db of [stack.db, directDb]) {
      await waitFor('every controller in its last state', async () => JSON.stringify(await controllersIn(db)) === JSON.stringify(expected), 30_000).catch(() => undefined);
      expect(await controllersIn(db)).toEqual(expected);
    }
    // The outage is in the log and in `error` for the web app, then the return (above).
    expect(msUntilLog(viaProxy, /^database unavailable/, killedAt)).toBeDefined();
    expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBeGreaterThan(0);
    expect(viaProxy.logs()).not.toMatch(/refuses every write/);
  });
});

interface DoctorOutput {
  code: number | null;
  out: string;
}

function doctor(env: Record<string, string>): DoctorOutput {
  const result = spawnSync(process.execPath, [CLI, 'doctor'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, out: result.stdout + result.stderr };
}

/** The one line of a check, whatever its status. */
function line(output: DoctorOutput, label: string): string {
  const found = output.out.split('\n').filter((l) => l.slice(2).startsWith(`${label}:`));
  if (found.length !== 1) throw new Error(`expected one "${label}" line, found ${found.length}:\n${output.out}`);
  return found[0]!;
}

describe('doctor on the cluster', () => {
  const env = (extra: Record<string, string> = {}) => stack.bridgeEnv({ DATA_DIR: newDataDir(), ...extra });

  it('through HAProxy: a Galera line that says so; at one node: a warning that the bridge cannot fail over', () => {
    const proxied = doctor(env());
    expect(proxied.code, proxied.out).toBe(0);
    expect(line(proxied, 'Galera cluster')).toMatch(/^✔ Galera cluster: reached through a proxy: node node1 of a 3-node Galera cluster, Synced, Primary$/);

    const node2 = cluster.nodes[1]!;
    const direct = doctor(env({ DB_HOST: node2.address }));
    expect(direct.code, direct.out).toBe(0);
    expect(line(direct, 'Galera cluster')).toBe(
      `⚠ Galera cluster: ${node2.address}:3306 is node node2 of a 3-node Galera cluster, Synced, Primary, reached directly, not through a proxy: ` +
        'if this node fails, the bridge cannot move to another node and its readings wait in its journal until this one is back ' +
        '→ point DB_HOST and DB_PORT at the HAProxy in front of the cluster (deploy/galera/README.md)',
    );
  });

  it('a node cut off from the others: not ready (1047), with what to do, and the schema lines skipped', async () => {
    const node3 = cluster.nodes[2]!;
    await node3.isolate();
    await waitFor('node3 out of the Primary component', async () => (await node3.wsrepStatus()).wsrep_cluster_status === 'non-Primary', 30_000, 200);
    const result = doctor(env({ DB_HOST: node3.address }));
    expect(result.code, result.out).toBe(1);
    const galera = line(result, 'Galera cluster');
    expect(galera).toMatch(new RegExp(`^✘ Galera cluster: ${node3.address.replaceAll('.', '\\.')}:3306 is Galera node node3, which is not ready: it refuses every write with error 1047`));
    expect(galera).toContain('wsrep_ready=OFF, cluster non-Primary');
    expect(galera).toContain('→ point DB_HOST and DB_PORT at the HAProxy in front of the cluster (deploy/galera/README.md)');
    expect(line(result, 'Database schema')).toBe('- Database schema: skipped: needs a Galera node that is ready');
    expect(result.out.split('\n').filter((l) => l.startsWith('✘'))).toEqual([galera]);
  });
});
