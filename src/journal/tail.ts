/**
 * The newest journal entries, kept in memory as well as on disk while they fit: the drain takes
 * them from here instead of reading back from SQLite what was written a moment ago (under load
 * that read-back cost more CPU than the append). Holds a consecutive run of entries ending at
 * the newest one; past its limits the oldest are dropped from memory and read from disk.
 */
import type { JournalEntry } from '../decode/types.js';

export interface TailLimits {
  maxEntries: number;
  /** Payload bytes held. */
  maxBytes: number;
}

/** Several batches' worth: a drain that keeps up always reads from memory. */
export const DEFAULT_TAIL_LIMITS: TailLimits = { maxEntries: 10_000, maxBytes: 4 * 1024 * 1024 };

export interface Measure {
  entries: number;
  /** What the entries count for in the journal's backlog. */
  bytes: number;
}

export class Tail {
  private entries: JournalEntry[] = [];
  /** Backlog bytes of each entry, parallel to `entries`. */
  private backlogBytes: number[] = [];
  /** Entries before `head` are gone; the arrays are compacted now and then. */
  private head = 0;
  private payloadBytes = 0;

  constructor(private readonly limits: TailLimits) {}

  /** The oldest entry held, undefined when empty. */
  get firstSeq(): number | undefined {
    return this.entries[this.head]?.seq;
  }

  /** `entry` must follow the last one pushed (or the tail be empty). */
  push(entry: JournalEntry, backlogBytes: number): void {
    this.entries.push(entry);
    this.backlogBytes.push(backlogBytes);
    this.payloadBytes += entry.payload.length;
    while (this.entries.length - this.head > this.limits.maxEntries || this.payloadBytes > this.limits.maxBytes) this.dropFirst();
  }

  /** Like Journal.read, from `fromSeq` on; `fromSeq` must be held or be the one after the last. */
  read(fromSeq: number, limit: number, maxBytes: number): JournalEntry[] {
    const start = this.head + (fromSeq - this.firstSeq!);
    const out: JournalEntry[] = [];
    let bytes = 0;
    for (let i = start; i < this.entries.length && out.length < limit && (out.length === 0 || bytes < maxBytes); i++) {
      out.push(this.entries[i]!);
      bytes += this.entries[i]!.payload.length;
    }
    return out;
  }

  /** Measures the entries up to `seq` it holds, without forgetting them. */
  measureUpTo(seq: number): Measure {
    const held = { entries: 0, bytes: 0 };
    for (let i = this.head; i < this.entries.length && this.entries[i]!.seq <= seq; i++) {
      held.entries += 1;
      held.bytes += this.backlogBytes[i]!;
    }
    return held;
  }

  /** Forgets the entries up to `seq` and measures them. */
  dropUpTo(seq: number): Measure {
    const gone = { entries: 0, bytes: 0 };
    while (this.head < this.entries.length && this.entries[this.head]!.seq <= seq) {
      gone.entries += 1;
      gone.bytes += this.backlogBytes[this.head]!;
      this.dropFirst();
    }
    return gone;
  }

  private dropFirst(): void {
    this.payloadBytes -= this.entries[this.head]!.payload.length;
    this.head += 1;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.backlogBytes = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.backlogBytes = this.backlogBytes.slice(this.head);
      this.head = 0;
    }
  }
}
