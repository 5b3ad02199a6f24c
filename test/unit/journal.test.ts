/** The local journal on a real SQLite file: order, durability across reopen, redelivery. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, NO_RETENTION, type IncomingMessage } from '../../src/journal/journal.js';
import { REDELIVERY_WINDOW } from '../../src/journal/recent-packets.js';

let dir: string;
let journal: Journal;
/** Committed entries go at once, as with JOURNAL_RETAIN=0 (retention has its own tests). */
const REMOVE_AT_COMMIT = { retention: NO_RETENTION };

const msg = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  topic: 'serre/1/bac/1',
  payload: Buffer.from('{"humiditeSol": 40}'),
  receivedAt: 1_700_000_000_000,
  packetId: 1,
  dup: false,
  ...over,
});

/** One message appended in a group of its own; false for a redelivery already stored. */
const appendOne = (j: Journal, message: IncomingMessage, maxPayloadBytes: number): boolean => j.appendMessages([message], maxPayloadBytes)[0]!;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
  journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
});

afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Journal', () => {
  it('keeps entries in order with their receipt time, across a reopen', () => {
    appendOne(journal, msg({ packetId: 1, receivedAt: 1 }), 1024);
    journal.appendEvent('mqtt_disconnect', 'lost', 2);
    appendOne(journal, msg({ packetId: 2, receivedAt: 3, topic: 'controleur/AA' }), 1024);
    const id = journal.id;
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
    expect(journal.id).toBe(id);
    const entries = journal.read(0, 10);
    expect(entries.map((e) => [e.kind, e.receivedAt, e.topic])).toEqual([
      ['message', 1, 'serre/1/bac/1'],
      ['mqtt_disconnect', 2, ''],
      ['message', 3, 'controleur/AA'],
    ]);
    expect(entries[1]!.payload.toString()).toBe('lost');
    expect(journal.backlogSize().entries).toBe(3);
  });

  it('stops a read once the payloads reach the byte budget, yet always returns one entry', () => {
    const kib = Buffer.alloc(1024, 'x');
    for (let i = 1; i <= 5; i++) appendOne(journal, msg({ packetId: i, payload: kib }), 4096);
    expect(journal.read(0, 10, 2048).map((e) => e.seq)).toEqual([1, 2]);
    expect(journal.read(0, 10, 2500).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(journal.read(0, 10, 10).map((e) => e.seq)).toEqual([1]);
    expect(journal.read(0, 10, 0).map((e) => e.seq)).toEqual([1]);
    expect(journal.read(0, 10)).toHaveLength(5);
  });

  it('reads after a position and forgets what was committed, never reusing a seq', () => {
    for (let i = 1; i <= 5; i++) appendOne(journal, msg({ packetId: i }), 1024);
    const [, second] = journal.read(0, 2);
    journal.markCommitted(second!.seq);
    expect(journal.read(0, 10).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(journal.read(4, 10).map((e) => e.seq)).toEqual([5]);
    journal.markCommitted(5);
    expect(journal.backlogSize()).toEqual({ entries: 0, bytes: 0 });
    appendOne(journal, msg({ packetId: 6 }), 1024);
    expect(journal.read(0, 10).map((e) => e.seq)).toEqual([6]);
    expect(journal.oldestReceivedAt()).toBe(1_700_000_000_000);
  });

  it('recognises a redelivered packet (DUP, same id and content) and stores it once', () => {
    expect(appendOne(journal, msg({ packetId: 7 }), 1024)).toBe(true);
    expect(appendOne(journal, msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    // Survives a crash: the memory of packet ids is on disk too.
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
    expect(appendOne(journal, msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    expect(journal.backlogSize().entries).toBe(1);
  });

  it('remembers packet ids of removed entries across a reopen, within the redelivery window only', () => {
    appendOne(journal, msg({ packetId: 7 }), 1024);
    appendOne(journal, msg({ packetId: 8 }), 1024);
    journal.markCommitted(2);
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
    expect(appendOne(journal, msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    // A whole window of later entries: id 8 may have been reused by the broker since.
    journal.appendMessages(Array.from({ length: REDELIVERY_WINDOW }, () => msg({ packetId: undefined })), 1024);
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
    expect(appendOne(journal, msg({ packetId: 8, dup: true }), 1024)).toBe(true);
  });

  it('opens a journal holding digests of an older version, and stores their redelivery once more', () => {
    appendOne(journal, msg({ packetId: 7 }), 1024);
    journal.markCommitted(1);
    journal.close();
    const raw = new Database(join(dir, 'journal.sqlite'));
    raw.prepare('UPDATE recent_packet SET digest = ?').run(Buffer.alloc(20, 1)); // a SHA-1
    raw.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT);
    expect(appendOne(journal, msg({ packetId: 7, dup: true }), 1024)).toBe(true);
    expect(appendOne(journal, msg({ packetId: 7, dup: true }), 1024)).toBe(false);
  });

  it('stores a DUP packet whose content differs, or that was never seen', () => {
    appendOne(journal, msg({ packetId: 8 }), 1024);
    expect(appendOne(journal, msg({ packetId: 8, dup: true, payload: Buffer.from('{"humiditeSol": 41}') }), 1024)).toBe(true);
    expect(appendOne(journal, msg({ packetId: 9, dup: true }), 1024)).toBe(true);
    // Without DUP the same id and content is a new message (ids are reused by the broker).
    expect(appendOne(journal, msg({ packetId: 9 }), 1024)).toBe(true);
    // QoS 0 messages have no id and are always stored.
    expect(appendOne(journal, msg({ packetId: undefined }), 1024)).toBe(true);
    expect(journal.backlogSize().entries).toBe(5);
  });

  it('keeps only the beginning of an oversized payload, with its real size', () => {
    appendOne(journal, msg({ payload: Buffer.alloc(5000, 0x61) }), 100);
    const [entry] = journal.read(0, 1);
    expect(entry!.payload.length).toBe(100);
    expect(entry!.size).toBe(5000);
  });

  it('belongs to one process: a second open of the same directory fails', () => {
    appendOne(journal, msg(), 1024);
    expect(() => {
      const other = new Journal(dir, 'full', REMOVE_AT_COMMIT);
      other.read(0, 1);
    }).toThrow(/locked/);
  });
});

describe('Journal group append', () => {
  it('stores a group in order in one call, skipping a recognised redelivery inside it', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'journal-group-'));
    const j = new Journal(dir2, 'full', REMOVE_AT_COMMIT);
    try {
      appendOne(j, msg({ packetId: 40 }), 1024);
      const flags = j.appendMessages(
        [msg({ packetId: 41 }), msg({ packetId: 40, dup: true }), msg({ packetId: 42, topic: 'controleur/AA' })],
        1024,
      );
      expect(flags).toEqual([true, false, true]);
      expect(j.read(0, 10).map((e) => [e.seq, e.topic])).toEqual([
        [1, 'serre/1/bac/1'],
        [2, 'serre/1/bac/1'],
        [3, 'controleur/AA'],
      ]);
    } finally {
      j.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});

describe('Journal in-memory tail', () => {
  type Row = [number, string, number, string, string, number];
  const view = (j: Journal): Row[][] =>
    [0, 3, 6, 8, 10, 11].map((after) => j.read(after, 5, 100).map((e): Row => [e.seq, e.kind, e.receivedAt, e.topic, e.payload.toString(), e.size]));

  it('reads what it holds in memory exactly as from disk, and counts the backlog the same', () => {
    journal.close();
    // Holds the last 4 entries only: reads and removals cross from disk to memory.
    journal = new Journal(dir, 'full', { ...REMOVE_AT_COMMIT, tailLimits: { maxEntries: 4, maxBytes: 1 << 20 } });
    const topics = ['serre/1/bac/1', 'serre/é/bac/2', 'controleur/AA'];
    for (let i = 1; i <= 10; i++) {
      appendOne(journal, msg({ packetId: i, topic: topics[i % 3], payload: Buffer.from('x'.repeat(i * 10)), receivedAt: i }), 60);
    }
    journal.appendEvent('db_error', 'panne', 11);
    const live = view(journal);
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT); // a fresh process: everything comes from disk
    expect(view(journal)).toEqual(live);
    expect(live[0]!.map((r) => r[0])).toEqual([1, 2, 3, 4]); // stopped by the 100-byte budget
    expect(live[2]![0]).toEqual([7, 'message', 7, 'serre/é/bac/2', 'x'.repeat(60), 70]);

    const onDisk = journal.backlogSize();
    journal.close();
    journal = new Journal(dir, 'full', { ...REMOVE_AT_COMMIT, tailLimits: { maxEntries: 4, maxBytes: 1 << 20 } });
    appendOne(journal, msg({ packetId: 12, topic: 'serre/é/bac/2', receivedAt: 12 }), 1024);
    journal.markCommitted(7); // measured on disk (memory holds only entry 12)
    journal.markCommitted(11);
    journal.markCommitted(12); // measured in memory
    const afterRemovals = journal.backlogSize();
    expect(afterRemovals.entries).toBe(0);
    expect(afterRemovals.bytes).toBe(0);
    expect(onDisk.entries).toBe(11);
  });

  it('holds the payloads of a group in one allocation of their size, not in blocks of a shared pool', () => {
    journal.appendMessages([msg({ packetId: 1 }), msg({ packetId: 2 })], 1024);
    const [first, second] = journal.read(0, 10);
    expect(first!.payload.buffer).toBe(second!.payload.buffer);
    expect(first!.payload.buffer.byteLength).toBe(first!.payload.length + second!.payload.length);
  });

  it('serves a drain that keeps up from memory, and one that lags from disk, in order', () => {
    journal.close();
    journal = new Journal(dir, 'full', { ...REMOVE_AT_COMMIT, tailLimits: { maxEntries: 3, maxBytes: 1 << 20 } });
    for (let i = 1; i <= 8; i++) appendOne(journal, msg({ packetId: i, receivedAt: i }), 1024);
    const seqs: number[] = [];
    let after = 0;
    for (let batch = journal.read(after, 2); batch.length > 0; batch = journal.read(after, 2)) {
      seqs.push(...batch.map((e) => e.seq));
      after = batch[batch.length - 1]!.seq;
      journal.markCommitted(after);
      if (after === 4) appendOne(journal, msg({ packetId: 9, receivedAt: 9 }), 1024);
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(journal.backlogSize()).toEqual({ entries: 0, bytes: 0 });
  });
});

describe('Journal reads from disk', () => {
  it('reads past many rows in order, within the entry limit and the byte budget', () => {
    for (let i = 1; i <= 150; i++) appendOne(journal, msg({ packetId: i, payload: Buffer.alloc(10, 0x61) }), 1024);
    journal.close();
    journal = new Journal(dir, 'full', REMOVE_AT_COMMIT); // nothing in memory: every read goes to SQLite
    expect(journal.read(0, 1000).map((e) => e.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(journal.read(5, 100).map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 6));
    expect(journal.read(0, 1000, 700).map((e) => e.seq)).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
    expect(journal.read(140, 1000, 700).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 141));
    expect(journal.read(0, 1000, 0).map((e) => e.seq)).toEqual([1]);
  });
});
