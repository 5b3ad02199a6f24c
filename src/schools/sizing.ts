/**
 * What each school's journal and drain may hold, out of totals that do not grow with the
 * number of schools: one central bridge for 200 schools must fit the memory of one for a
 * school. A school sends a few messages a second, so its share is still several batches' worth
 * (measured: docs/performance.md, "Many schools in one process").
 */
import type { TailLimits } from '../journal/tail.js';

/** The newest entries kept in memory, for all the schools together (one bridge: 4 MiB). */
const TAIL_BYTES = 8 * 1024 * 1024;
const TAIL_ENTRIES = 20_000;
/** SQLite's page cache, all journals together (better-sqlite3 gives each 16 MB). */
const PAGE_CACHE_KIB = 32 * 1024;
/** The WAL size at which each journal is checkpointed, all together (one bridge: 8 MiB). */
const WAL_BYTES = 64 * 1024 * 1024;

export interface SchoolSizing {
  tailLimits: TailLimits;
  cacheKiB: number;
  checkpointBytes: number;
  /**
   * Entries per MySQL transaction for one school: after a long outage every school's drain
   * holds a batch (and reads the next) while it waits for a connection, so BATCH_SIZE is shared.
   */
  batchSize: number;
}

export function schoolSizing(schools: number, batchSize: number): SchoolSizing {
  const share = (total: number, floor: number) => Math.max(floor, Math.floor(total / Math.max(1, schools)));
  return {
    tailLimits: { maxEntries: share(TAIL_ENTRIES, 32), maxBytes: share(TAIL_BYTES, 16 * 1024) },
    cacheKiB: share(PAGE_CACHE_KIB, 64),
    checkpointBytes: share(WAL_BYTES, 128 * 1024),
    batchSize: Math.min(batchSize, share(batchSize, 20)),
  };
}
