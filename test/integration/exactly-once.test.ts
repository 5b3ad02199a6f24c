/**
 * Exactly once across the crash window between the MySQL COMMIT and the removal of the entries
 * from the local journal: the journal file is copied before the drain writes it, and the copy
 * is started again as if the process had died right after COMMIT.
 */
import { cpSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter, PositionMoved, type Batch } from '../../src/db/batch-writer.js';
import { CatalogCache } from '../../src/db/catalog.js';
import { createWriterPool, type Pool } from '../../src/db/pool.js';
import { Journal } from '../../src/journal/journal.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import { metricsObserver } from '../../src/pipeline/metrics-observer.js';
import { Drain } from '../../src/pipeline/drain.js';
import { ErrorRateLimiter } from '../../src/pipeline/error-rate-limiter.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { checkDelivery, readingPayload } from '../helpers/readings.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/cleanup.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = db.env();
  pool = createWriterPool({ host: env.DB_HOST!, port: Number(env.DB_PORT), database: env.DB_NAME!, user: env.DB_USER!, password: env.DB_PASSWORD!, retryDelayMs: 200 }, 15_000);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function drainFor(journal: Journal, clientId: string): Drain {
  const drain = new Drain(journal, pool, new CatalogCache(pool, 30_000), new ErrorRateLimiter(20), metricsObserver(new Metrics(false)), createLogger('error'), {
    clientId,
    batchSize: 7, // several batches, so the position moves in steps
    retryDelayMs: 200,
    maxPayloadBytes: 16_384,
  });
  drain.start();
  return drain;
}

function append(journal: Journal, bac: number, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    journal.appendMessages([{ topic: `serre/1/bac/${bac}`, payload: Buffer.from(readingPayload(i)), receivedAt: Date.now(), packetId: (i % 65_535) + 1, dup: false }], 16_384);
  }
}

describe('exactly once', () => {
  it('a restart after COMMIT but before the journal removal writes nothing twice', async () => {
    const dir = tempDir('eo-journal-');
    const crashCopy = tempDir('eo-journal-copy-');
    let journal = new Journal(dir);
    // As the bridge does before its first PUBACK: compared with the database (no position yet).
    // Without it the copy would hold entries never compared, told apart by receipt time only.
    journal.markReconciled();
    append(journal, 1, 0, 100);
    journal.close();
    cpSync(dir, crashCopy, { recursive: true });

    journal = new Journal(dir);
    const first = drainFor(journal, 'eo-bridge');
    await waitFor('first drain done', () => journal.backlogSize().entries === 0);
    expect(await first.stop(5_000)).toBe(true);
    journal.close();

    // The copy still holds all 100 entries: what the disk held had the process died after COMMIT.
    const revived = new Journal(crashCopy);
    expect(revived.backlogSize().entries).toBe(100);
    append(revived, 1, 100, 110);
    const second = drainFor(revived, 'eo-bridge');
    await waitFor('second drain done', () => revived.backlogSize().entries === 0);
    expect(await second.stop(5_000)).toBe(true);
    revived.close();

    const delivery = await checkDelivery(db, new Map([[1, 110]]));
    expect(delivery).toEqual({ expected: 110, rows: 110, lost: 0, duplicated: 0 });
  });

  it('a new journal (lost volume) is not mistaken for the old one: its entries are written', async () => {
    const journal = new Journal(tempDir('eo-journal-new-'));
    append(journal, 2, 0, 20); // seqs 1..20, below the position the old journal reached
    const drain = drainFor(journal, 'eo-bridge');
    await waitFor('drained', () => journal.backlogSize().entries === 0);
    await drain.stop(5_000);
    journal.close();
    expect(await checkDelivery(db, new Map([[2, 20]]))).toEqual({ expected: 20, rows: 20, lost: 0, duplicated: 0 });
  });

  /**
   * A transaction sent on a connection given up on (statement timeout) may still run once the
   * server answers again, before or after the batch is written anew: whichever comes second must
   * write nothing.
   */
  describe('a batch sent twice (a transaction given up on that still runs)', () => {
    const journalId = '00000000-0000-4000-8000-000000000001';
    const writer = new BatchWriter({ clientId: 'eo-zombie', journalId }, createLogger('error'), { sharedControllerTopics: false });
    const batch = async (afterSeq: number, lastSeq: number, values: number[]): Promise<Batch> => {
      const [rows] = await pool.query<import('mysql2').RowDataPacket[]>(
        'SELECT b.id_bac AS id FROM bac b JOIN serre s ON b.serre = s.id_serre WHERE s.numero = 1 AND b.numero = 3',
      );
      const bac = Number(rows[0]!.id);
      return { afterSeq, lastSeq, mesures: values.map((i) => ({ bac, capteur: 1, value: i / 100, at: Date.now() })), errors: [], controllers: [] };
    };
    // Written where the batch starts: no row before the first one, then this journal's.
    const write = async (b: Batch) => {
      const conn = await pool.getConnection();
      try {
        return await writer.write(conn, b, b.afterSeq === 0 ? null : { journalId, lastSeq: b.afterSeq }, (rows) => rows);
      } finally {
        conn.release();
      }
    };

    it('the late one is refused, in the fast path and in the careful one, and nothing is written twice', async () => {
      const first = await batch(0, 5, [0, 1, 2, 3, 4]);
      await write(first);
      // The same batch again: the position is at 5, not at 0 where it starts.
      await expect(write(first)).rejects.toBeInstanceOf(PositionMoved);
      // The careful path (a batch with a controller event takes it) has the same guard.
      const careful: Batch = { ...first, controllers: [{ kind: 'disconnect', mac: '24:6F:28:00:0E:EE', at: Date.now(), seq: 5 }] };
      await expect(write(careful)).rejects.toBeInstanceOf(PositionMoved);
      // The next batch, from where the database is, goes through.
      await write(await batch(5, 8, [5, 6, 7]));
      expect(await checkDelivery(db, new Map([[3, 8]]))).toEqual({ expected: 8, rows: 8, lost: 0, duplicated: 0 });
    });

    it('refuses a batch when the row it expects is gone, or belongs to another journal', async () => {
      const next = await batch(8, 9, [8]);
      await pool.query("DELETE FROM bridge_journal_position WHERE client_id = 'eo-zombie'");
      await expect(write(next)).rejects.toBeInstanceOf(PositionMoved);
      await pool.query("INSERT INTO bridge_journal_position VALUES ('eo-zombie', '00000000-0000-4000-8000-00000000000f', 8, NOW())");
      await expect(write(next)).rejects.toBeInstanceOf(PositionMoved);
      expect(await checkDelivery(db, new Map([[3, 9]]))).toMatchObject({ rows: 8, lost: 1 });
    });
  });
});
