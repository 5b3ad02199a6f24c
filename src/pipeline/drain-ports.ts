/**
 * What the drain needs from the rest of the bridge: the journal it consumes, and an observer
 * that turns what it did into metrics (so the drain itself knows nothing of Prometheus).
 */
import type { EntryKind, ErrorType, JournalEntry, MesureRow } from '../decode/types.js';
import type { RetainedWindow } from '../journal/journal.js';

/** See journal/journal.ts for what each mark means. */
export interface DrainJournal {
  readonly id: string;
  readonly committedUpTo: number;
  readonly removedUpToSeq: number;
  readonly lastSequence: number;
  readonly earlierRunsUpTo: number;
  readonly positionBase: number;
  readonly positionSinceMs: number | undefined;
  /** Up to `limit` entries after `afterSeq`, fewer once their payloads reach `maxBytes`. */
  read(afterSeq: number, limit: number, maxBytes?: number): JournalEntry[];
  /** Entries up to `seq` are committed to MySQL: kept for the retention window, then removed. */
  markCommitted(seq: number): void;
  /** The database holds entries only up to `seq` again: the later ones wait once more. */
  rewindTo(seq: number): void;
  /** The journal was compared with the database (see Journal.earlierRunsUpTo). */
  markReconciled(): void;
  /** The database holds entries up to `dbSeq`, past `inDatabaseUpTo`: renumber what follows. */
  skipAhead(dbSeq: number, inDatabaseUpTo: number): number;
  retainedWindow(): RetainedWindow;
  /** Receipt time of an entry, or of the first of the removal that took it. */
  receivedAtOrBefore(seq: number): number | undefined;
  /** The last entry in (afterSeq, upToSeq] received at or before `atMs`. */
  lastReceivedBy(atMs: number, afterSeq: number, upToSeq: number): number | undefined;
  /** Applies the retention policy if it is due. */
  pruneIfDue(): void;
  appendEvent(kind: Exclude<EntryKind, 'message'>, detail: string): void;
  /** Called whenever an entry is appended. */
  onAppend(listener: () => void): void;
  /** True for a failure of the journal itself (disk full, I/O error), not of the database. */
  isOwnFailure(err: unknown): boolean;
}

export interface BatchStats {
  entries: number;
  seconds: number;
  mesures: number;
  /** The batch's readings, for the greenhouse watch (last reading per sensor); not to be kept. */
  readings: readonly MesureRow[];
  controllers: number;
  /** Error rows written, by type. */
  errors: Partial<Record<ErrorType, number>>;
  /** Error rows the rate limiter summarised instead, by type. */
  suppressed: Partial<Record<ErrorType, number>>;
}

export interface DrainObserver {
  batchCommitted(stats: BatchStats): void;
  /** Entries written again after the database went back (pipeline/recovery.ts). */
  entriesWrittenAgain(entries: number): void;
  /** Entries the database lost that the journal no longer holds: not written again. */
  entriesNotRefilled(entries: number): void;
  /** A transaction conflicted (deadlock, lock wait, certification) and is tried again. */
  transactionConflict(): void;
  /** `up` after a failure or at the first answer; `wasDown` when an outage just ended. */
  databaseState(up: boolean, wasDown: boolean): void;
}

/** One observer that tells each of `observers` everything, in order. */
export function allObservers(...observers: DrainObserver[]): DrainObserver {
  return {
    batchCommitted: (stats) => observers.forEach((o) => o.batchCommitted(stats)),
    entriesWrittenAgain: (entries) => observers.forEach((o) => o.entriesWrittenAgain(entries)),
    transactionConflict: () => observers.forEach((o) => o.transactionConflict()),
    entriesNotRefilled: (entries) => observers.forEach((o) => o.entriesNotRefilled(entries)),
    databaseState: (up, wasDown) => observers.forEach((o) => o.databaseState(up, wasDown)),
  };
}
