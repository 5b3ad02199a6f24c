/**
 * What a drain does when its journal and the database disagree about what is written: the
 * journal position row (`bridge_journal_position`) against the journal's own marks. Pure: the
 * drain reads both, asks `decide`, and carries the decision out.
 *
 * The database may be ahead of the journal's mark:
 * - by entries the journal holds: a crash between a COMMIT and the journal's mark, or a COMMIT
 *   whose answer was lost; those entries are written, skip them;
 * - past what the file held from earlier runs: the journal is older than the database (a
 *   `DATA_DIR` restored from a backup or snapshot, a disk that acknowledged writes it lost,
 *   `JOURNAL_SYNC=normal` and a power cut). Entries appended since the start must then be
 *   numbered after the database's position, or they would be taken for written and removed.
 *   Entries appended by a process that never compared the journal with the database are told
 *   apart by their receipt time: one received after the database's last commit cannot be in it.
 *
 * The database may be behind (restored from a dump, failed over to a replica that lagged, its
 * position row gone, or put back from a dump older than this journal): the journal writes again,
 * from where the database is, the committed entries it still retains; what retention already
 * removed is reported as lost.
 */
import { formatDateTime } from '../time.js';

/** The position row as read. */
export interface PositionRow {
  journalId: string;
  lastSeq: number;
  /**
   * When the database last moved it, on the bridge's clock (its NOW() shifted by the skew): the
   * start of the second its DATETIME keeps, so never later than the real moment.
   */
  movedAtMs: number;
}

/** The journal's side, as a drain sees it (DrainJournal). */
export interface JournalMarks {
  id: string;
  committedUpTo: number;
  /** Entries up to here are gone from the journal. */
  removedUpTo: number;
  lastSequence: number;
  /** What the file held from earlier runs, but entries never compared with the database. */
  earlierRunsUpTo: number;
  /** Where this client id's position starts in the journal (older-journals.ts, handover). */
  positionBase: number;
  /** When the journal first committed under this client id (bridge clock); undefined: never. */
  positionSinceMs: number | undefined;
  /** The last entry in (afterSeq, upToSeq] received at or before `atMs`, if any. */
  lastReceivedBy(atMs: number, afterSeq: number, upToSeq: number): number | undefined;
}

export type Recovery =
  /** Nothing to do. */
  | { kind: 'in-step' }
  /** The row names another journal, written after this one began: write on from here. */
  | { kind: 'other-journal'; otherJournalId: string }
  /** The database already holds entries up to `to`, which the journal still holds. */
  | { kind: 'skip'; to: number }
  /** The journal is older than the database: see the file's comment. */
  | { kind: 'journal-behind'; databaseSeq: number; inDatabaseUpTo: number }
  /**
   * The database went back to `databaseSeq` (undefined: its row is gone, or names a journal
   * older than this one): write again from `from` up to `upTo`; `lost` is what the journal no
   * longer holds.
   */
  | { kind: 'refill'; databaseSeq: number | undefined; from: number; upTo: number; lost: { fromSeq: number; toSeq: number } | undefined };

/**
 * Receipt and commit times come from two clocks (their skew is measured at each comparison):
 * what is closer than this is not told apart, and counts on the side that loses nothing.
 */
export const CLOCK_MARGIN_MS = 1_000;

/**
 * `first`: the drain's first reconciliation since the process started (the only one that can
 * meet entries the database holds from before a restored journal file).
 */
export function decide(row: PositionRow | undefined, journal: JournalMarks, first: boolean): Recovery {
  const committed = journal.committedUpTo;
  if (row && row.journalId !== journal.id) {
    // A row another journal wrote before this one ever committed: the database was put back to
    // a time before this journal (e.g. DATA_DIR made anew, then an older dump restored). Too
    // close to tell: written on, as a second bridge with the same client id would need.
    const older = journal.positionSinceMs !== undefined && row.movedAtMs < journal.positionSinceMs - CLOCK_MARGIN_MS;
    if (!older || committed <= journal.positionBase) return { kind: 'other-journal', otherJournalId: row.journalId };
    return refill(undefined, journal);
  }
  // A missing row is where this client id's position starts.
  const at = row?.lastSeq ?? journal.positionBase;
  if (at === committed) return { kind: 'in-step' };
  if (at > committed) return ahead(at, row, journal, first);
  return refill(row?.lastSeq, journal);
}

function ahead(at: number, row: PositionRow | undefined, journal: JournalMarks, first: boolean): Recovery {
  if (!first) {
    return at <= journal.lastSequence ? { kind: 'skip', to: at } : { kind: 'journal-behind', databaseSeq: at, inDatabaseUpTo: journal.committedUpTo };
  }
  // Entries never compared with the database may still be in it: those received clearly before
  // its last commit (written by the run that received them, then this file went back). One
  // received after it, or too close to tell, is new: numbered again, at worst written twice,
  // never taken for written.
  const earlier = journal.earlierRunsUpTo;
  const upTo = Math.min(at, journal.lastSequence);
  const received = row && upTo > earlier ? journal.lastReceivedBy(row.movedAtMs - CLOCK_MARGIN_MS, earlier, upTo) : undefined;
  const mayHold = Math.max(earlier, received ?? earlier);
  return at <= mayHold ? { kind: 'skip', to: at } : { kind: 'journal-behind', databaseSeq: at, inDatabaseUpTo: mayHold };
}

/** Behind. Before the base, entries were committed under another client id: not this row's. */
function refill(databaseSeq: number | undefined, journal: JournalMarks): Recovery {
  const floor = Math.max(databaseSeq ?? journal.positionBase, journal.positionBase);
  const from = Math.max(floor, journal.removedUpTo);
  return {
    kind: 'refill',
    databaseSeq,
    from,
    upTo: journal.committedUpTo,
    lost: floor < journal.removedUpTo ? { fromSeq: floor + 1, toSeq: journal.removedUpTo } : undefined,
  };
}

/** Receipt times of a range the journal no longer holds, as far as it knows them. */
export interface LostRange {
  fromSeq: number;
  toSeq: number;
  fromMs: number | undefined;
  toMs: number | undefined;
}

const when = (ms: number | undefined) => (ms === undefined ? '?' : formatDateTime(ms));

/** The log lines of each recovery, in English (the status page words them in French). */
export const recoveryText = {
  journalBehind: (databaseSeq: number, inDatabaseUpTo: number, renumbered: number) =>
    `the journal is older than the database: the database holds this journal's entries up to ${databaseSeq}, ` +
    `the journal file holds them up to ${inDatabaseUpTo} (a DATA_DIR restored from a backup or snapshot, a disk that lost ` +
    `its last writes, or JOURNAL_SYNC=normal and a power cut); the ${renumbered} entries received since are numbered ` +
    `from ${databaseSeq + 1} on and written`,
  refill: (databaseSeq: number | undefined, from: number, upTo: number, fromMs: number | undefined, toMs: number | undefined) => {
    const where = databaseSeq === undefined ? 'its position row for this journal is gone (or older than this journal)' : `its position for this journal is ${databaseSeq}`;
    const count = upTo - from;
    return (
      `the database lost entries it had committed (restored from a backup, or failed over to a replica that lagged?): ${where}, ` +
      `the bridge had committed up to ${upTo}; writing the ${count} entries it retains from ${from} again` +
      (count > 0 ? ` (received from ${when(fromMs)} to ${when(toMs)})` : '')
    );
  },
  lost: (lost: LostRange) =>
    `entries ${lost.fromSeq} to ${lost.toSeq} (received between ${when(lost.fromMs)} and ${when(lost.toMs)}) cannot be written again: ` +
    'the journal no longer retains them (JOURNAL_RETAIN, JOURNAL_RETAIN_BYTES). Readings of that time are missing from the database unless restored from elsewhere',
  refillDone: (entries: number) => `the entries the database had lost are written again: ${entries} entries`,
  otherJournal: "the database's position row for this client id belongs to another journal, written since this one began: this journal's earlier commits cannot be checked against it, and are not written again",
};
