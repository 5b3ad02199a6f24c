/**
 * A journal older than the database (issue 19): the DATA_DIR restored from a backup or a VM
 * snapshot, a copy of the volume, a disk that acknowledged writes it lost. The database holds
 * this journal's entries past the end of the file; the readings received after the restart
 * must not be taken for written. Before, they got sequence numbers the database already had
 * and were removed unwritten. Both with the database there at start (checked before the first
 * PUBACK) and with the database refusing the bridge at start (numbered again once it answers).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BridgeProcess } from '../../helpers/bridge-process.js';
import { databaseAheadOfACopy, putBack, readingsFor } from '../../helpers/older-journal.js';
import { waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';

let stack: Stack;

beforeEach(async () => {
  stack = await createStack({ database: { serres: 1, bacsPerSerre: 6 } });
});

afterEach(async () => {
  await stack?.close();
});

async function expectBehindLogged(bridge: BridgeProcess): Promise<void> {
  await bridge.waitForLog(/the journal is older than the database/);
  const line = bridge.logLines().find((l) => /the journal is older than the database/.test(String(l.msg)))!;
  expect(line.level).toBe('error');
  expect(Number(line.databaseSeq)).toBeGreaterThan(Number(line.journalUpTo));
}

describe('a journal older than the database', () => {
  it('numbers what it receives after the database position: every new reading lands once', async () => {
    const { dataDir, olderCopy, earlier } = await databaseAheadOfACopy(stack);
    putBack(olderCopy, dataDir);

    const third = await stack.startBridge({ DATA_DIR: dataDir });
    await expectBehindLogged(third);
    const three = await readingsFor(stack, 5, 2_000);
    const delivery = await waitForDelivery(stack.db, three);
    expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
    // What the older journal held was written before: not again.
    expect(await waitForDelivery(stack.db, earlier)).toMatchObject({ lost: 0, duplicated: 0 });
    console.log('journal older than the database:', delivery);
  });

  it('also when the database refuses the bridge at start: the entries received meanwhile are numbered again', async () => {
    const { dataDir, olderCopy, earlier } = await databaseAheadOfACopy(stack);
    putBack(olderCopy, dataDir);

    await stack.db.query(`ALTER USER \`${stack.db.bridgeUser}\`@'%' ACCOUNT LOCK`);
    const third = await stack.startBridge({ DATA_DIR: dataDir }, { waitReady: false });
    await third.waitForLog(/compared with the database once it answers/);
    const three = await readingsFor(stack, 5, 2_000); // stored in the journal, acknowledged, not yet written
    await stack.db.query(`ALTER USER \`${stack.db.bridgeUser}\`@'%' ACCOUNT UNLOCK`);
    await expectBehindLogged(third);
    const line = third.logLines().find((l) => /the journal is older than the database/.test(String(l.msg)))!;
    expect(Number(line.renumbered)).toBeGreaterThan(0);
    const delivery = await waitForDelivery(stack.db, three);
    expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
    expect(await waitForDelivery(stack.db, earlier)).toMatchObject({ lost: 0, duplicated: 0 });
    console.log('journal older than the database, database refused at start:', { ...delivery, renumbered: line.renumbered });
  });
});
