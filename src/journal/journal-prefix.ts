/**
 * The entries of a journal up to a sequence number, as a drain sees a journal: what a bridge
 * found in its own journal at start, recorded under another client id, and must write under
 * that id before writing the newer entries under its own.
 */
import type { EntryKind, JournalEntry } from '../decode/types.js';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import type { Journal } from './journal.js';

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

  removeUpTo(seq: number): void {
    this.journal.removeUpTo(Math.min(seq, this.upToSeq));
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

  isEmpty(): boolean {
    return this.read(0, 1).length === 0;
  }
}
