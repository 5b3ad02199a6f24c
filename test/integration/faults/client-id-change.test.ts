/**
 * A journal is never abandoned: a bridge stopped during a database outage leaves a backlog in
 * DATA_DIR; the next bridge on that DATA_DIR runs with another client id (renamed, or moved to
 * `{slot}` for scale-out) and still writes that backlog, exactly once, under the old client
 * id's journal position. Also SIGTERM during such a handover, and the command of
 * docs/delivery.md that retires the old client id's broker session.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { Journal } from '../../../src/journal/journal.js';
import { POSITION_CLIENT_ID } from '../../../src/journal/journal.js';
import { newDataDir, type BridgeProcess } from '../../helpers/bridge-process.js';
import { deviceClient } from '../../helpers/broker.js';
import { tempDir } from '../../helpers/cleanup.js';
import { metricValue } from '../../helpers/metrics.js';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
import { REPO_ROOT } from '../../helpers/pki.js';
import { burst, waitForDelivery } from '../../helpers/readings.js';
import { waitFor } from '../../helpers/wait.js';

const setup = stackOnPrivateMariadb();
const started: BridgeProcess[] = [];

beforeAll(async () => {
  // Bacs 5 to 8 of serre 1, for the readings sent after the change.
  await setup.stack.db.query("INSERT INTO bac (serre, numero) SELECT id_serre, n FROM serre, (SELECT 5 AS n UNION SELECT 6 UNION SELECT 7 UNION SELECT 8) AS b WHERE numero = 1");
});

// Another test's bridge still subscribed would write this test's readings too.
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop('SIGKILL')));
});

async function startBridge(env: Record<string, string>, opts: { waitReady?: boolean } = {}): Promise<BridgeProcess> {
  const bridge = await setup.stack.startBridge(env, opts);
  started.push(bridge);
  return bridge;
}

/** A bridge with client id `clientId` that stops during an outage with `count` readings per bac kept on disk. */
async function leaveBacklog(clientId: string, firstBac: number, count: number) {
  const { stack, mariadb } = setup;
  const bridge = await startBridge({ MQTT_CLIENT_ID: clientId, SHUTDOWN_TIMEOUT: '2' });
  const device = await stack.device(`24:6F:28:00:0C:0${firstBac}`);
  // Some readings committed first, so that the old client id has a position row.
  const before = await burst([device], 20, firstBac);
  await waitForDelivery(stack.db, before, 30_000);
  await mariadb.kill();
  const during = await burst([device], count, firstBac + 1);
  await waitFor('the backlog in the journal', async () => (await metricValue(bridge, 'parc_bridge_journal_backlog_entries')) >= count, 30_000);
  expect(await bridge.stop('SIGTERM')).toBe(0);
  expect(bridge.logs()).toMatch(/stopped before the journal was fully written/);
  await mariadb.start();
  return { bridge, sent: new Map([...before, ...during]), ...journalLeft(bridge.dataDir) };
}

/** The sequence of the last entry the stopped bridge left in its journal, and how many entries it holds. */
function journalLeft(dataDir: string): { lastSeq: number; entries: number } {
  const journal = new Journal(dataDir, 'normal');
  try {
    return { lastSeq: journal.lastSequence, entries: journal.backlogSize().entries };
  } finally {
    journal.close();
  }
}

async function positions(): Promise<Map<string, number>> {
  const rows = await setup.stack.db.query<RowDataPacket[]>('SELECT client_id, last_seq FROM bridge_journal_position');
  return new Map(rows.map((r) => [String(r.client_id), Number(r.last_seq)]));
}

it('a bridge renamed on the same DATA_DIR writes the old backlog once, under the old client id', async () => {
  const old = await leaveBacklog('bridge-a', 1, 300);
  const renamed = await startBridge({ MQTT_CLIENT_ID: 'bridge-b', DATA_DIR: old.bridge.dataDir });
  const delivery = await waitForDelivery(setup.stack.db, old.sent, 60_000);
  console.log('client id changed on the same journal:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  expect(renamed.logs()).toMatch(/writing an older journal first/);
  await renamed.waitForLog(/older journal fully written/);
  // Every old entry, up to the last one, was committed under the old client id's position.
  expect((await positions()).get('bridge-a')).toBe(old.lastSeq);
  expect(renamed.logLines().find((l) => l.msg === 'older journal fully written')).toMatchObject({ clientId: 'bridge-a', entries: old.entries });

  // New readings go under the new client id, the old one's position stays where it was.
  const device = await setup.stack.device('24:6F:28:00:0C:05');
  const fresh = await burst([device], 50, 5);
  expect(await waitForDelivery(setup.stack.db, fresh, 30_000)).toMatchObject({ lost: 0, duplicated: 0 });
  const rows = await positions();
  expect(rows.get('bridge-a')).toBe(old.lastSeq);
  expect(rows.get('bridge-b')).toBeGreaterThan(old.lastSeq);
});

it('a bridge moved to MQTT_CLIENT_ID=…-{slot} writes the journal DATA_DIR held before', async () => {
  const old = await leaveBacklog('bridge-c', 3, 300);
  const slotted = await startBridge({ MQTT_CLIENT_ID: 'bridge-c-{slot}', DATA_DIR: old.bridge.dataDir });
  const delivery = await waitForDelivery(setup.stack.db, old.sent, 60_000);
  console.log('client id moved to a slot:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  await slotted.waitForLog(/older journal fully written/);
  expect(slotted.logs()).toMatch(/"clientId":"bridge-c-1"/);
});

/** A journal like one a shared group's instance leaves in DATA_DIR/slot-<n>: controller announcements received at `at`. */
function slotJournal(dataDir: string, slot: number, announcements: Array<{ ip: string; at: number }>, mac: string): void {
  const journal = new Journal(join(dataDir, `slot-${slot}`), 'normal');
  journal.setSetting(POSITION_CLIENT_ID, `group-${slot}`);
  const payload = (ip: string) => Buffer.from(JSON.stringify({ ip, status: true }));
  journal.appendMessages(announcements.map(({ ip, at }) => ({ topic: `controleur/${mac}`, payload: payload(ip), receivedAt: at, packetId: undefined, dup: false })), 1024);
  journal.close();
}

it("a bridge without {slot} takes over a shared group's slot journals: a controller ends in its last announcement's state", async () => {
  const mac = '24:6F:28:00:0C:F1';
  const dataDir = newDataDir();
  const now = Date.now();
  // Each instance received every controller message; slot-2 stopped before the last one.
  slotJournal(dataDir, 1, [{ ip: '192.168.42.1', at: now - 60_000 }, { ip: '192.168.42.2', at: now - 30_000 }], mac);
  slotJournal(dataDir, 2, [{ ip: '192.168.42.1', at: now - 60_000 }], mac);
  const bridge = await startBridge({ MQTT_CLIENT_ID: 'group-after', DATA_DIR: dataDir });
  await waitFor('both slot journals written', () => (bridge.logs().match(/older journal fully written/g) ?? []).length === 2);
  const [row] = await setup.stack.db.query<RowDataPacket[]>('SELECT ip, status FROM controleur WHERE id_controleur = ?', [mac]);
  expect(row).toMatchObject({ ip: '192.168.42.2', status: 1 });
});

it('SIGTERM during a handover held by a missing grant: /readyz names it, the old backlog and the new messages are flushed, exit 0', async () => {
  const { stack } = setup;
  const old = await leaveBacklog('bridge-e', 6, 100);
  const who = [stack.db.name, stack.db.bridgeUser, '%'];
  await stack.db.query('REVOKE INSERT ON ??.mesure FROM ?@?', who);
  try {
    // A long retry delay: only the stop makes the held drain try again.
    const renamed = await startBridge({ MQTT_CLIENT_ID: 'bridge-f', DATA_DIR: old.bridge.dataDir, DB_RETRY_DELAY: '600', SHUTDOWN_TIMEOUT: '30' }, { waitReady: false });
    const readyz = await waitFor('/readyz naming the missing grant', async () => {
      const r = await renamed.get('/readyz').catch(() => undefined);
      const body = r && (JSON.parse(r.body) as { dbProblem?: { fix?: string } });
      return body?.dbProblem?.fix ? { status: r!.status, body } : undefined;
    });
    expect(readyz.status).toBe(503);
    expect(readyz.body).toMatchObject({ db: false, dbProblem: { cause: expect.stringMatching(/INSERT command denied.*mesure/), fix: expect.stringMatching(/grant/) } });
    expect(renamed.logs()).not.toMatch(/older journal fully written/);

    // Messages received during the handover wait in the journal behind the old ones.
    const device = await stack.device('24:6F:28:00:0C:08');
    const fresh = await burst([device], 50, 8, 0);
    await waitFor('the new readings in the journal', async () => (await metricValue(renamed, 'parc_bridge_messages_received_total', 'kind="bac"')) >= 50);
    await stack.db.query('GRANT INSERT ON ??.mesure TO ?@?', who);

    expect(await renamed.stop('SIGTERM')).toBe(0);
    const messages = renamed.logLines().map((l) => l.msg);
    expect(messages.indexOf('older journal fully written')).toBeGreaterThan(messages.indexOf('stopping: no new messages, flushing the journal'));
    expect(messages).toContain('stopped; journal fully written to the database');
    // Written by the stopping bridge alone, nothing lost or doubled, the old entries under the old id.
    expect(await waitForDelivery(stack.db, new Map([...old.sent, ...fresh]), 30_000)).toMatchObject({ lost: 0, duplicated: 0 });
    expect((await positions()).get('bridge-e')).toBe(old.lastSeq);
  } finally {
    await stack.db.query('GRANT INSERT ON ??.mesure TO ?@?', who);
  }
});

/** Whether the broker still holds a persistent session for `clientId` (connects once to see, then leaves it as it was). */
async function sessionPresent(clientId: string): Promise<boolean> {
  const { stack } = setup;
  const client = deviceClient(stack.broker, { ...stack.pki.bridge, caFile: stack.pki.caFile }, { clientId, clean: false });
  const present = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (connack) => resolve(connack.sessionPresent));
    client.once('error', reject);
  });
  await client.endAsync();
  return present;
}

/** The command of docs/delivery.md that retires an old session, as its words, with the test broker's address. */
function documentedRetireCommand(host: string, port: number, clientId: string): string[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'delivery.md'), 'utf8');
  const block = /```sh\n(\s*mosquitto_sub [^`]*parc-bridge\/doctor\/retire[^`]*)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error("docs/delivery.md has no ```sh block with the mosquitto_sub command that retires a session");
  const words = block.replace(/\\\n/g, ' ').replace('<broker host>', host).trim().split(/\s+/);
  const set = (option: string, value: string) => {
    const at = words.indexOf(option);
    if (at < 0) throw new Error(`docs/delivery.md's command has no ${option}: ${words.join(' ')}`);
    words[at + 1] = value;
  };
  set('-p', String(port));
  set('-i', clientId);
  return words;
}

it("docs/delivery.md's command retires an old client id's broker session (mosquitto_sub with a clean session)", async () => {
  const { stack } = setup;
  // A bridge that ran with this client id left its persistent session on the broker.
  const old = await startBridge({ MQTT_CLIENT_ID: 'bridge-old' });
  await old.stop();
  expect(await sessionPresent('bridge-old')).toBe(true);

  // Run from a folder whose mosquitto/ is the test PKI, laid out as the scripts make it.
  const checkout = tempDir('parc-retire-');
  symlinkSync(stack.pki.dir, join(checkout, 'mosquitto'));
  const [command, ...args] = documentedRetireCommand('127.0.0.1', stack.broker.port, 'bridge-old');
  const retire = spawnSync(command!, args, { cwd: checkout, encoding: 'utf8', timeout: 30_000 });
  expect(retire.status, retire.stderr).toBe(0);
  expect(await sessionPresent('bridge-old')).toBe(false);
});
