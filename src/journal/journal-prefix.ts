/**
 * The entries of a journal up to a sequence number, as a drain sees a journal: what a bridge
 * found in its own journal at start, recorded under another client id, and must write under
 * that id before writing the newer entries under its own.
 */
import type { EntryKind, JournalEntry } from '../decode/types.js';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import type { Journal, RetainedWindow } from './journal.js';

export class JournalPrefix implements DrainJournal {
  constructor(
    private readonly journal: Journal,
    readonly upToSeq: number,
  ) {}

  get id(): string {
    return this.journal.id;
  }

  read(afterSeq: number, limit: number, maxBytes?: number): JournalEntry[] {
    if (afterSeq >= this.upToSeq) return [];
    return this.journal.read(afterSeq, limit, maxBytes).filter((entry) => entry.seq <= this.upToSeq);
  }

  get committedUpTo(): number {
    return Math.min(this.journal.committedUpTo, this.upToSeq);
  }

  get removedUpToSeq(): number {
    return this.journal.removedUpToSeq;
  }

  get lastSequence(): number {
    return Math.min(this.journal.lastSequence, this.upToSeq);
  }

  get earlierRunsUpTo(): number {
    return this.journal.earlierRunsUpTo;
  }

  get positionBase(): number {
    return this.journal.positionBase;
  }

  markCommitted(seq: number): void {
    this.journal.markCommitted(Math.min(seq, this.upToSeq));
  }

  markReconciled(): void {
    this.journal.markReconciled();
  }

  rewindTo(seq: number): void {
    this.journal.rewindTo(seq);
  }

  /** The whole journal moves: what follows the prefix is the own drain's, numbered after it. */
  skipAhead(dbSeq: number, inDatabaseUpTo: number): number {
    return this.journal.skipAhead(dbSeq, inDatabaseUpTo);
  }

  retainedWindow(): RetainedWindow {
    return this.journal.retainedWindow();
  }

  get positionSinceMs(): number | undefined {
    return this.journal.positionSinceMs;
  }

  receivedAtOrBefore(seq: number): number | undefined {
    return this.journal.receivedAtOrBefore(seq);
  }

  lastReceivedBy(atMs: number, afterSeq: number, upToSeq: number): number | undefined {
    return this.journal.lastReceivedBy(atMs, afterSeq, Math.min(upToSeq, this.upToSeq));
  }

  pruneIfDue(): void {
    this.journal.pruneIfDue();
  }

  /** An outage the drain records goes after the prefix: the bridge's own drain writes it. */
  appendEvent(kind: Exclude<EntryKind, 'message'>, detail: string): void {
    this.journal.appendEvent(kind, detail);
  }

  /** The prefix never grows: nothing to wake up for. */
  onAppend(): void {}

  isOwnFailure(err: unknown): boolean {
    return this.journal.isOwnFailure(err);
  }

  /** Every entry of the prefix is committed (or the database held them: skipAhead). */
  isEmpty(): boolean {
    return this.journal.committedUpTo >= this.upToSeq;
  }
}
