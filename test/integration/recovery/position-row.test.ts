/**
 * The position row against the journal, at the drain's level on a real MariaDB, in the cases a
 * whole-bridge run meets rarely:
 * - the row deleted while the bridge runs (a dump older than the bridge's first write): every
 *   entry written again, none lost, although idle ticks run meanwhile;
 * - the row put back from a dump of the journal that came before this one (DATA_DIR made anew,
 *   then an older dump restored): this journal's entries written again;
 * - the own journal handed over to a new client id while it held entries received before any
 *   comparison with the database: nothing written twice;
 * - a DATA_DIR snapshot taken while entries were not yet compared, put back after they were
 *   written: nothing written twice.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CatalogCache } from '../../../src/db/catalog.js';
import { createWriterPool, type Pool } from '../../../src/db/pool.js';
import { Journal, type Retention } from '../../../src/journal/journal.js';
import { JournalPrefix } from '../../../src/journal/journal-prefix.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { Drain } from '../../../src/pipeline/drain.js';
import type { DrainJournal } from '../../../src/pipeline/drain-ports.js';
import { ErrorRateLimiter } from '../../../src/pipeline/error-rate-limiter.js';
import { metricsObserver } from '../../../src/pipeline/metrics-observer.js';
import { tempDir } from '../../helpers/cleanup.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { checkDelivery, readingPayload } from '../../helpers/readings.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const RETAIN: Retention = { retainMs: 3_600_000, retainBytes: 1 << 30, reserveBytes: 0 };
let db: TestDatabase;
let pool: Pool;
const running: Array<{ drain: Drain; journal: Journal }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const env = db.env();
  pool = createWriterPool({ host: env.DB_HOST!, port: Number(env.DB_PORT), database: env.DB_NAME!, user: env.DB_USER!, password: env.DB_PASSWORD!, retryDelayMs: 200 }, 15_000);
});

afterEach(async () => {
  for (const { drain, journal } of running.splice(0)) {
    await drain.stop(5_000);
    journal.close();
  }
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function drainOf(journal: DrainJournal, clientId: string): Drain {
  return new Drain(journal, pool, new CatalogCache(pool, 30_000), new ErrorRateLimiter(20), metricsObserver(new Metrics(false)), createLogger('error'), {
    clientId,
    batchSize: 7,
    retryDelayMs: 200,
    maxPayloadBytes: 16_384,
    pingIntervalMs: 200, // idle ticks often: each one writes the position
  });
}

function started(journal: Journal, clientId: string): Drain {
  const drain = drainOf(journal, clientId);
  drain.start();
  running.push({ drain, journal });
  return drain;
}

async function stopped(drain: Drain, journal: Journal): Promise<void> {
  running.splice(running.findIndex((r) => r.drain === drain), 1);
  await drain.stop(5_000);
  journal.close();
}

/** Readings i in [from, to) of bac `bac` of serre 1, received now. */
function append(journal: Journal, bac: number, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    journal.appendMessages([{ topic: `serre/1/bac/${bac}`, payload: Buffer.from(readingPayload(i)), receivedAt: Date.now(), packetId: undefined, dup: false }], 16_384);
  }
}

const open = (dir: string) => new Journal(dir, 'full', { retention: RETAIN });
const drained = (journal: Journal) => waitFor('journal written', () => journal.isEmpty(), 30_000);
const readingsOf = async (bac: number) => db.query(`DELETE m FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre WHERE s.numero = 1 AND b.numero = ${bac}`);

describe('the position row', () => {
  it('deleted while the bridge runs: everything the journal keeps is written again', async () => {
    const journal = open(tempDir('row-gone-'));
    journal.setPositionClientId('row-gone');
    append(journal, 1, 0, 30);
    started(journal, 'row-gone');
    await drained(journal);
    // A dump older than the bridge's first write, restored: no row, none of its readings.
    await readingsOf(1);
    await db.query("DELETE FROM bridge_journal_position WHERE client_id = 'row-gone'");
    await sleep(1_000); // idle ticks: none may make the row again as if nothing had happened
    append(journal, 1, 30, 40);
    await drained(journal);
    await sleep(500);
    expect(await checkDelivery(db, new Map([[1, 40]]))).toMatchObject({ lost: 0, duplicated: 0 });
  });

  it('of an older journal put back: this journal began after it, its entries are written again', async () => {
    // Journal A wrote under this client id, then DATA_DIR was made anew (journal B)...
    const a = open(tempDir('row-older-a-'));
    a.setPositionClientId('row-older');
    append(a, 2, 0, 5);
    await stopped(await (async () => {
      const drain = started(a, 'row-older');
      await drained(a);
      return drain;
    })(), a);
    const dumped = await db.query("SELECT * FROM bridge_journal_position WHERE client_id = 'row-older'");
    await sleep(5_000); // B begins well after A's last write (more than the clocks' margin)
    const b = open(tempDir('row-older-b-'));
    b.setPositionClientId('row-older');
    append(b, 2, 5, 20);
    started(b, 'row-older');
    await drained(b);
    // ...then the dump taken while A was in use is restored: A's row, A's readings only.
    await readingsOf(2);
    await db.query(`INSERT INTO mesure (bac, capteur, value, mesure_a) SELECT b.id_bac, 1, v.i / 100, NOW() FROM bac b JOIN serre s ON s.id_serre = b.serre JOIN (SELECT 0 AS i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4) v WHERE s.numero = 1 AND b.numero = 2`);
    await db.query("UPDATE bridge_journal_position SET journal_id = ?, last_seq = ?, updated_at = ? WHERE client_id = 'row-older'", [dumped[0]!.journal_id, dumped[0]!.last_seq, dumped[0]!.updated_at]);
    await sleep(1_000);
    await drained(b);
    expect(await checkDelivery(db, new Map([[2, 20]]))).toMatchObject({ lost: 0, duplicated: 0 });
  });

  it('handed over to a new client id while holding entries never compared: nothing written twice', async () => {
    const dir = tempDir('row-handover-');
    // Run 1 under X: 10 entries written.
    let journal = open(dir);
    journal.setPositionClientId('row-x');
    append(journal, 3, 0, 10);
    await stopped(await (async () => {
      const drain = started(journal, 'row-x');
      await drained(journal);
      return drain;
    })(), journal);
    // Run 2 under X: the database did not answer; 10 entries received, then the process died.
    journal = open(dir);
    append(journal, 3, 10, 20);
    journal.close();
    // Run 3 under Y, as app.ts does it: the own drain made first, the own prefix handed over.
    journal = open(dir);
    const own = drainOf(journal, 'row-y');
    const prefix = new JournalPrefix(journal, journal.lastSequence);
    const handover = drainOf(prefix, 'row-x');
    handover.start();
    append(journal, 3, 20, 25); // received meanwhile
    await waitFor('prefix written', () => prefix.isEmpty(), 30_000);
    await handover.stop(5_000);
    journal.setPositionClientId('row-y');
    own.start();
    running.push({ drain: own, journal });
    await drained(journal);
    await sleep(500);
    expect(await checkDelivery(db, new Map([[3, 25]]))).toMatchObject({ lost: 0, duplicated: 0 });
  });

  it('from a DATA_DIR snapshot taken before its entries were compared, put back after they were written: nothing twice', async () => {
    const dir = tempDir('row-snapshot-');
    let journal = open(dir);
    journal.setPositionClientId('row-snap');
    append(journal, 4, 0, 10);
    await stopped(await (async () => {
      const drain = started(journal, 'row-snap');
      await drained(journal);
      return drain;
    })(), journal);
    // The database does not answer at first: 10 entries received, not compared; it answers a few
    // seconds later.
    journal = open(dir);
    append(journal, 4, 10, 20);
    journal.close();
    await sleep(3_000);
    const snapshot = tempDir('row-snapshot-copy-');
    cpSync(dir, snapshot, { recursive: true }); // the nightly VM snapshot
    journal = open(dir);
    let drain = started(journal, 'row-snap');
    await drained(journal);
    append(journal, 4, 20, 25);
    await drained(journal);
    await stopped(drain, journal);
    // DATA_DIR restored from the snapshot, and the bridge goes on.
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `journal.sqlite${suffix}`), { force: true });
    cpSync(snapshot, dir, { recursive: true });
    journal = open(dir);
    drain = started(journal, 'row-snap');
    await sleep(300);
    append(journal, 4, 25, 30);
    await drained(journal);
    await sleep(500);
    expect(await checkDelivery(db, new Map([[4, 30]]))).toMatchObject({ lost: 0, duplicated: 0 });
  });
});
