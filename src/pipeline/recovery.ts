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
 *   numbered after the database's position, or the next reconciliation would take them for
 *   written and remove them.
 *
 * The database may be behind (restored from a dump, failed over to a replica that lagged, its
 * position row gone): the journal writes again, from where the database is, the committed
 * entries it still retains; what retention already removed is reported as a gap, and the
 * position row is moved past it so that writing goes on.
 */

/** The position row as read, with the journal id it guards. */
export interface PositionRow {
  journalId: string;
  lastSeq: number;
  /** When the database last moved it (its NOW(), as epoch milliseconds). */
  updatedAtMs: number;
}

/** The journal's side, as a drain sees it (DrainJournal). */
export interface JournalMarks {
  id: string;
  committedUpTo: number;
  /** Entries up to here are gone from the journal. */
  removedUpTo: number;
  lastSequence: number;
  /** What the file held from earlier runs (only a first reconciliation compares with it). */
  earlierRunsUpTo: number;
  /** Where this client id's position starts in the journal (older-journals.ts, handover). */
  positionBase: number;
}

export type Recovery =
  /** Nothing to do. */
  | { kind: 'in-step' }
  /** The row names another journal: this one's commits cannot be compared; write on. */
  | { kind: 'other-journal'; otherJournalId: string }
  /** The database already holds entries up to `to`, which the journal still holds. */
  | { kind: 'skip'; to: number }
  /** The journal is older than the database: see the file's comment. */
  | { kind: 'journal-behind'; databaseSeq: number; inDatabaseUpTo: number; renumbered: number }
  /**
   * The database went back to `databaseSeq` (undefined: its row is gone): write again from
   * `from` up to `upTo`. When `from` is past `databaseSeq`, the position row is first moved
   * there (`moveRowFrom` is what it says now); `lost` is what the journal no longer holds.
   */
  | {
      kind: 'refill';
      databaseSeq: number | undefined;
      from: number;
      upTo: number;
      moveRowFrom: number | undefined;
      lost: { fromSeq: number; toSeq: number } | undefined;
    };

/**
 * `first`: the drain's first reconciliation since the process started (the only one that can
 * meet entries the database holds from before a restored journal file).
 */
export function decide(row: PositionRow | undefined, journal: JournalMarks, first: boolean): Recovery {
  if (row && row.journalId !== journal.id) return { kind: 'other-journal', otherJournalId: row.journalId };
  const committed = journal.committedUpTo;
  // A missing row is where this client id's position starts.
  const databaseSeq = row?.lastSeq;
  const at = databaseSeq ?? journal.positionBase;
  if (at === committed) return { kind: 'in-step' };
  if (at > committed) {
    const mayHold = first ? journal.earlierRunsUpTo : journal.lastSequence;
    if (at <= mayHold) return { kind: 'skip', to: at };
    // Ahead of anything it could have from this journal: the entries after `mayHold` (first
    // run: appended since the start; later: not yet committed) are new to it.
    const inDatabaseUpTo = first ? journal.earlierRunsUpTo : committed;
    return { kind: 'journal-behind', databaseSeq: at, inDatabaseUpTo, renumbered: Math.max(0, journal.lastSequence - inDatabaseUpTo) };
  }
  // Behind. Before the base, entries were committed under another client id: not this row's.
  const floor = Math.max(at, journal.positionBase);
  const from = Math.max(floor, journal.removedUpTo);
  return {
    kind: 'refill',
    databaseSeq,
    from,
    upTo: committed,
    moveRowFrom: databaseSeq !== undefined && from !== databaseSeq ? databaseSeq : undefined,
    lost: floor < journal.removedUpTo ? { fromSeq: floor + 1, toSeq: journal.removedUpTo } : undefined,
  };
}
