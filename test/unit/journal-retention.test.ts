/**
 * What the journal keeps once entries are committed (retention), how it goes back for a
 * database that lost them (rewindTo), how it renumbers after a database that is ahead
 * (skipAhead), and its file format: on real SQLite files.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOURNAL_FORMAT, JournalFormatError } from '../../src/journal/journal-format.js';
import { Journal, POSITION_CLIENT_ID, type IncomingMessage, type Retention } from '../../src/journal/journal.js';

let dir: string;
const open: Journal[] = [];

function journalIn(d: string, retention?: Retention): Journal {
  const j = new Journal(d, 'full', { retention });
  open.push(j);
  return j;
}

function reopen(j: Journal, retention?: Retention): Journal {
  j.close();
  return journalIn(dir, retention);
}

const msg = (i: number, receivedAt: number, topic = 'serre/1/bac/1'): IncomingMessage => ({
  topic,
  payload: Buffer.from(`{"humiditeSol": ${i}}`),
  receivedAt,
  packetId: undefined,
  dup: false,
});

function appendAll(j: Journal, times: number[]): void {
  j.appendMessages(times.map((at, i) => msg(i + 1, at)), 1024);
}

const seqsAfter = (j: Journal, after: number) => j.read(after, 1000).map((e) => e.seq);
const HOUR = 3_600_000;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-retention-'));
});

afterEach(() => {
  for (const j of open.splice(0)) j.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('retention of committed entries', () => {
  it('keeps what was received within JOURNAL_RETAIN and removes older committed entries, never one waiting', () => {
    const now = Date.now();
    let j = journalIn(dir, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    // Three received two hours ago, three a minute ago, two still waiting.
    appendAll(j, [now - 2 * HOUR, now - 2 * HOUR, now - 2 * HOUR, now - 60_000, now - 60_000, now - 60_000, now, now]);
    j.markCommitted(6);
    expect(j.retainedWindow()).toMatchObject({ entries: 3, fromSeq: 4, toSeq: 6, oldestReceivedAt: now - 60_000, removedReceivedAt: now - 2 * HOUR });
    expect(j.backlogSize().entries).toBe(2);
    expect(seqsAfter(j, 0)).toEqual([4, 5, 6, 7, 8]);
    expect(j.oldestReceivedAt()).toBe(now);
    // What is counted in memory is what the file holds.
    const counted = { retained: j.retainedWindow(), backlog: j.backlogSize() };
    j = reopen(j, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.retainedWindow()).toEqual(counted.retained);
    expect(j.backlogSize()).toEqual(counted.backlog);
    expect(j.committedUpTo).toBe(6);
  });

  it('keeps the newest committed entries that fit JOURNAL_RETAIN_BYTES', () => {
    const now = Date.now();
    const j = journalIn(dir, { retainMs: 24 * HOUR, retainBytes: 300, reserveBytes: 0 });
    appendAll(j, Array.from({ length: 10 }, () => now));
    j.markCommitted(10);
    const kept = j.retainedWindow();
    expect(kept.bytes).toBeLessThanOrEqual(300);
    expect(kept.entries).toBeGreaterThan(0);
    expect(kept.toSeq).toBe(10);
    expect(seqsAfter(j, 0)).toEqual(Array.from({ length: kept.entries }, (_, i) => 11 - kept.entries + i));
  });

  it('keeps everything when opened without a policy (doctor looking at a journal)', () => {
    const now = Date.now();
    let j = journalIn(dir);
    appendAll(j, [now - 200 * 24 * HOUR, now]);
    j.markCommitted(2);
    j = reopen(j);
    expect(j.retainedWindow().entries).toBe(2);
    // The bridge's own policy applies from its next open.
    j = reopen(j, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.retainedWindow()).toMatchObject({ entries: 1, fromSeq: 2 });
  });

  it('removes committed entries at once when JOURNAL_RETAIN is 0', () => {
    const j = journalIn(dir, { retainMs: 0, retainBytes: 0, reserveBytes: 0 });
    appendAll(j, [1, 2, 3]);
    j.markCommitted(2);
    expect(j.retainedWindow().entries).toBe(0);
    expect(seqsAfter(j, 0)).toEqual([3]);
  });
});

describe('going back for a database that lost entries', () => {
  it('makes retained entries wait again from a position, then commits them again', () => {
    const now = Date.now();
    let j = journalIn(dir, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    appendAll(j, [now, now, now, now, now]);
    j.markCommitted(5);
    expect(j.backlogSize().entries).toBe(0);
    j.rewindTo(2);
    expect(j.committedUpTo).toBe(2);
    expect(j.backlogSize().entries).toBe(3);
    expect(j.retainedWindow().entries).toBe(2);
    expect(j.oldestReceivedAt()).toBe(now);
    expect(seqsAfter(j, j.committedUpTo)).toEqual([3, 4, 5]);
    // Durable: a restart in the middle of the refill goes on from there.
    j = reopen(j, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.committedUpTo).toBe(2);
    j.markCommitted(5);
    expect(j.backlogSize().entries).toBe(0);
    expect(j.retainedWindow().entries).toBe(5);
  });

  it('refuses to go back before what it still holds', () => {
    const j = journalIn(dir, { retainMs: 0, retainBytes: 0, reserveBytes: 0 });
    appendAll(j, [1, 2, 3]);
    j.markCommitted(3);
    expect(() => j.rewindTo(1)).toThrow(/only keeps entries after 3/);
  });
});

describe('a journal older than the database', () => {
  it('numbers the entries appended since the start after the database position, durably', () => {
    let j = journalIn(dir, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    j.markReconciled();
    appendAll(j, [1, 2, 3, 4, 5]);
    j = reopen(j, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.earlierRunsUpTo).toBe(5);
    j.appendMessages([msg(6, 6, 'serre/1/bac/6'), msg(7, 7, 'serre/1/bac/7')], 1024);
    expect(j.skipAhead(40, 5)).toBe(2);
    expect(j.committedUpTo).toBe(40);
    expect(j.lastSequence).toBe(42);
    expect(j.backlogSize().entries).toBe(2);
    expect(j.read(40, 10).map((e) => [e.seq, e.topic])).toEqual([
      [41, 'serre/1/bac/6'],
      [42, 'serre/1/bac/7'],
    ]);
    j.appendMessages([msg(8, 8, 'serre/1/bac/8')], 1024);
    expect(j.read(40, 10).map((e) => e.seq)).toEqual([41, 42, 43]);
    j = reopen(j, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.read(40, 10).map((e) => [e.seq, e.topic])).toEqual([
      [41, 'serre/1/bac/6'],
      [42, 'serre/1/bac/7'],
      [43, 'serre/1/bac/8'],
    ]);
    expect(j.committedUpTo).toBe(40);
    expect(j.earlierRunsUpTo).toBe(43);
  });
});

describe('entries appended before the journal was compared with the database', () => {
  it('are remembered as such across a crash, until a comparison', () => {
    let j = journalIn(dir);
    appendAll(j, [1, 2, 3]);
    j.markReconciled();
    j = reopen(j);
    expect(j.earlierRunsUpTo).toBe(3);
    appendAll(j, [4, 5]); // the database did not answer: not compared yet
    j = reopen(j); // the process died
    expect(j.earlierRunsUpTo).toBe(3);
    appendAll(j, [6]);
    j = reopen(j);
    expect(j.earlierRunsUpTo).toBe(3);
    j.markReconciled();
    appendAll(j, [7]);
    j = reopen(j);
    expect(j.earlierRunsUpTo).toBe(7);
  });
});

describe('the position client id', () => {
  it('starts the new id where the journal is committed, so no refill goes back before it', () => {
    const j = journalIn(dir, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    appendAll(j, [1, 2, 3]);
    j.setPositionClientId('old');
    j.markCommitted(3);
    expect(j.positionBase).toBe(0);
    j.setPositionClientId('new');
    expect(j.positionBase).toBe(3);
    expect(j.setting(POSITION_CLIENT_ID)).toBe('new');
    j.setPositionClientId('new');
    expect(j.positionBase).toBe(3);
  });
});

describe('the journal file format', () => {
  it('opens a journal of the previous release (format 0) with its backlog, and upgrades it', () => {
    copyFileSync(resolve(import.meta.dirname, '../fixtures/journal-v0/journal.sqlite'), join(dir, 'journal.sqlite'));
    const j = journalIn(dir, { retainMs: HOUR, retainBytes: 1 << 30, reserveBytes: 0 });
    expect(j.openedFormat).toBe(0);
    expect(j.committedUpTo).toBe(10);
    expect(j.backlogSize().entries).toBe(32);
    expect(j.retainedWindow().entries).toBe(0);
    expect(seqsAfter(j, j.committedUpTo)[0]).toBe(11);
    expect(j.setting(POSITION_CLIENT_ID)).toBe('mqtt-bridge');
    j.close();
    const raw = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(JOURNAL_FORMAT);
    raw.close();
  });

  it('refuses a journal of a newer format and leaves the file as it was', () => {
    const j = journalIn(dir);
    appendAll(j, [1, 2]);
    j.close();
    const raw = new Database(join(dir, 'journal.sqlite'));
    raw.pragma(`user_version = ${JOURNAL_FORMAT + 1}`);
    raw.close();
    const file = join(dir, 'journal.sqlite');
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(() => journalIn(dir)).toThrow(JournalFormatError);
    expect(() => journalIn(dir)).toThrow(/format 2, written by a newer parc-bridge.*Nothing was changed/);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a newer format found only in the WAL file (a newer bridge killed before its checkpoint), changing nothing', () => {
    const j = journalIn(dir);
    appendAll(j, [1, 2]);
    j.close();
    const raw = new Database(join(dir, 'journal.sqlite'));
    raw.pragma('wal_autocheckpoint = 0');
    raw.pragma(`user_version = ${JOURNAL_FORMAT + 1}`);
    // Copied while the writer still runs: the new version is in journal.sqlite-wal only.
    const copy = mkdtempSync(join(tmpdir(), 'journal-wal-only-'));
    for (const suffix of ['', '-wal']) copyFileSync(join(dir, `journal.sqlite${suffix}`), join(copy, `journal.sqlite${suffix}`));
    raw.close();
    const hashes = () => ['', '-wal'].map((suffix) => createHash('sha256').update(readFileSync(join(copy, `journal.sqlite${suffix}`))).digest('hex'));
    const before = hashes();
    try {
      expect(() => journalIn(copy)).toThrow(JournalFormatError);
      expect(hashes()).toEqual(before);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('gives a new journal the current format', () => {
    journalIn(dir).close();
    const raw = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(JOURNAL_FORMAT);
    raw.close();
  });
});
