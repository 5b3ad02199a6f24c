/**
 * A journal is never abandoned: a bridge stopped during a database outage leaves a backlog in
 * DATA_DIR; the next bridge on that DATA_DIR runs with another client id (renamed, or moved to
 * `{slot}` for scale-out) and still writes that backlog, exactly once, under the old client
 * id's journal position.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { BridgeProcess } from '../../helpers/bridge-process.js';
import type { RowDataPacket } from 'mysql2';
import { deviceClient } from '../../helpers/broker.js';
import { metricValue } from '../../helpers/metrics.js';
import { stackOnPrivateMariadb } from '../../helpers/outage-stack.js';
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

async function startBridge(env: Record<string, string>): Promise<BridgeProcess> {
  const bridge = await setup.stack.startBridge(env);
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
  return { bridge, sent: new Map([...before, ...during]) };
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

  // The old entries moved the old client id's position; new readings go under the new one.
  const device = await setup.stack.device('24:6F:28:00:0C:05');
  const fresh = await burst([device], 50, 5);
  expect(await waitForDelivery(setup.stack.db, fresh, 30_000)).toMatchObject({ lost: 0, duplicated: 0 });
  const rows = await positions();
  expect(rows.get('bridge-a')).toBeGreaterThanOrEqual(320);
  expect(rows.get('bridge-b')).toBeGreaterThan(rows.get('bridge-a')!);
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

it("README's command retires an old client id's broker session (mosquitto_sub with a clean session)", async () => {
  const { stack } = setup;
  // A bridge that ran with this client id left its persistent session on the broker.
  const old = await startBridge({ MQTT_CLIENT_ID: 'bridge-old' });
  await old.stop();
  expect(await sessionPresent('bridge-old')).toBe(true);

  const retire = spawnSync('mosquitto_sub', [
    '-h', '127.0.0.1', '-p', String(stack.broker.port),
    '--cafile', stack.pki.caFile, '--cert', stack.pki.bridge.certFile, '--key', stack.pki.bridge.keyFile,
    '-i', 'bridge-old', '-t', 'parc-bridge/doctor/retire', '-E',
  ], { encoding: 'utf8', timeout: 30_000 });
  expect(retire.status, retire.stderr).toBe(0);
  expect(await sessionPresent('bridge-old')).toBe(false);
});
