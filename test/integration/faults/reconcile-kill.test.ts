/**
 * Fault suite (issue 19): JOURNAL_SYNC=normal, a journal older than the database with a backlog
 * received while the database refused the bridge, and the bridge killed at each step of its
 * start: before it compares its journal with the database, right after it renumbered its
 * entries, after its first batch, once the database answered. Readings keep arriving at QoS 0
 * throughout. Each kill leaves the journal's last transaction whole or absent (SQLite); in the
 * end every reading is written once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BridgeProcess } from '../../helpers/bridge-process.js';
import { databaseAheadOfACopy, putBack, readingsOn } from '../../helpers/older-journal.js';
import { waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ database: { serres: 1, bacsPerSerre: 6 } });
});

afterAll(async () => {
  await stack?.close();
});

it('loses and doubles nothing when killed at each step of its reconciliation, with JOURNAL_SYNC=normal', async () => {
  const env = { JOURNAL_SYNC: 'normal', LOG_LEVEL: 'DEBUG' };
  const { dataDir, olderCopy, earlier } = await databaseAheadOfACopy(stack, env);
  putBack(olderCopy, dataDir);

  // A backlog in the older journal, received while the database refused the bridge.
  await stack.db.query(`ALTER USER \`${stack.db.bridgeUser}\`@'%' ACCOUNT LOCK`);
  const stream = await readingsOn(stack, 5);
  const held = await stack.startBridge({ ...env, DATA_DIR: dataDir }, { waitReady: false });
  await held.waitForLog(/compared with the database once it answers/);
  await sleep(1_500);
  await held.stop('SIGKILL');
  await stack.db.query(`ALTER USER \`${stack.db.bridgeUser}\`@'%' ACCOUNT UNLOCK`);

  // Killed as soon as each step shows in its log. A step an earlier run already did (the
  // renumbering is done once) does not show again: that run is killed after 20 s instead.
  const steps = [/parc-bridge starting/, /the journal is older than the database/, /"msg":"batch committed"/, /database reachable/];
  const killed: BridgeProcess[] = [];
  for (const step of steps) {
    const bridge = await stack.startBridge({ ...env, DATA_DIR: dataDir }, { waitReady: false });
    await bridge.waitForLog(step, 20_000).catch(() => undefined);
    await bridge.stop('SIGKILL');
    killed.push(bridge);
  }
  // The journal was found older than the database, and renumbered, before a kill.
  expect(killed.some((b) => /the journal is older than the database/.test(b.logs()))).toBe(true);
  const last = await stack.startBridge({ ...env, DATA_DIR: dataDir });
  await sleep(1_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 90_000);
  console.log('killed at each step of its reconciliation (JOURNAL_SYNC=normal):', delivery);
  expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
  expect(await waitForDelivery(stack.db, earlier)).toMatchObject({ lost: 0, duplicated: 0 });
  expect(last.logs()).not.toMatch(/cannot be written again/);
});
