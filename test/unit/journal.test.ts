/** The local journal on a real SQLite file: order, durability across reopen, redelivery. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type IncomingMessage } from '../../src/journal/journal.js';
import { REDELIVERY_WINDOW } from '../../src/journal/recent-packets.js';

let dir: string;
let journal: Journal;

const msg = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  topic: 'serre/1/bac/1',
  payload: Buffer.from('{"humiditeSol": 40}'),
  receivedAt: 1_700_000_000_000,
  packetId: 1,
  dup: false,
  ...over,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
  journal = new Journal(dir);
});

afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Journal', () => {
  it('keeps entries in order with their receipt time, across a reopen', () => {
    journal.appendMessage(msg({ packetId: 1, receivedAt: 1 }), 1024);
    journal.appendEvent('mqtt_disconnect', 'lost', 2);
    journal.appendMessage(msg({ packetId: 2, receivedAt: 3, topic: 'controleur/AA' }), 1024);
    const id = journal.id;
    journal.close();
    journal = new Journal(dir);
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
    for (let i = 1; i <= 5; i++) journal.appendMessage(msg({ packetId: i, payload: kib }), 4096);
    expect(journal.read(0, 10, 2048).map((e) => e.seq)).toEqual([1, 2]);
    expect(journal.read(0, 10, 2500).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(journal.read(0, 10, 10).map((e) => e.seq)).toEqual([1]);
    expect(journal.read(0, 10)).toHaveLength(5);
  });

  it('reads after a position and forgets what was committed, never reusing a seq', () => {
    for (let i = 1; i <= 5; i++) journal.appendMessage(msg({ packetId: i }), 1024);
    const [, second] = journal.read(0, 2);
    journal.removeUpTo(second!.seq);
    expect(journal.read(0, 10).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(journal.read(4, 10).map((e) => e.seq)).toEqual([5]);
    journal.removeUpTo(5);
    expect(journal.backlogSize()).toEqual({ entries: 0, bytes: 0 });
    journal.appendMessage(msg({ packetId: 6 }), 1024);
    expect(journal.read(0, 10).map((e) => e.seq)).toEqual([6]);
    expect(journal.oldestReceivedAt()).toBe(1_700_000_000_000);
  });

  it('recognises a redelivered packet (DUP, same id and content) and stores it once', () => {
    expect(journal.appendMessage(msg({ packetId: 7 }), 1024)).toBe(true);
    expect(journal.appendMessage(msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    // Survives a crash: the memory of packet ids is on disk too.
    journal.close();
    journal = new Journal(dir);
    expect(journal.appendMessage(msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    expect(journal.backlogSize().entries).toBe(1);
  });

  it('remembers packet ids of removed entries across a reopen, within the redelivery window only', () => {
    journal.appendMessage(msg({ packetId: 7 }), 1024);
    journal.appendMessage(msg({ packetId: 8 }), 1024);
    journal.removeUpTo(2);
    journal.close();
    journal = new Journal(dir);
    expect(journal.appendMessage(msg({ packetId: 7, dup: true }), 1024)).toBe(false);
    // A whole window of later entries: id 8 may have been reused by the broker since.
    journal.appendMessages(Array.from({ length: REDELIVERY_WINDOW }, () => msg({ packetId: undefined })), 1024);
    journal.close();
    journal = new Journal(dir);
    expect(journal.appendMessage(msg({ packetId: 8, dup: true }), 1024)).toBe(true);
  });

  it('stores a DUP packet whose content differs, or that was never seen', () => {
    journal.appendMessage(msg({ packetId: 8 }), 1024);
    expect(journal.appendMessage(msg({ packetId: 8, dup: true, payload: Buffer.from('{"humiditeSol": 41}') }), 1024)).toBe(true);
    expect(journal.appendMessage(msg({ packetId: 9, dup: true }), 1024)).toBe(true);
    // Without DUP the same id and content is a new message (ids are reused by the broker).
    expect(journal.appendMessage(msg({ packetId: 9 }), 1024)).toBe(true);
    // QoS 0 messages have no id and are always stored.
    expect(journal.appendMessage(msg({ packetId: undefined }), 1024)).toBe(true);
    expect(journal.backlogSize().entries).toBe(5);
  });

  it('keeps only the beginning of an oversized payload, with its real size', () => {
    journal.appendMessage(msg({ payload: Buffer.alloc(5000, 0x61) }), 100);
    const [entry] = journal.read(0, 1);
    expect(entry!.payload.length).toBe(100);
    expect(entry!.size).toBe(5000);
  });

  it('belongs to one process: a second open of the same directory fails', () => {
    journal.appendMessage(msg(), 1024);
    expect(() => {
      const other = new Journal(dir);
      other.read(0, 1);
    }).toThrow(/locked/);
  });
});

describe('Journal group append', () => {
  it('stores a group in order in one call, skipping a recognised redelivery inside it', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'journal-group-'));
    const j = new Journal(dir2);
    try {
      j.appendMessage(msg({ packetId: 40 }), 1024);
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
