/**
 * Exactly once across the crash window between the MySQL COMMIT and the removal of the entries
 * from the local journal: the journal file is copied before the drain writes it, and the copy
 * is started again as if the process had died right after COMMIT.
 */
import { cpSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
