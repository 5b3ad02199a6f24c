/** Which journals a bridge hands over at start (real SQLite files in a temp dir). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Journal, NO_RETENTION, POSITION_CLIENT_ID } from '../../src/journal/journal.js';
import { findOlderJournals, peekJournal, type OlderJournal } from '../../src/journal/older-journals.js';
import { findJournal, journalResult } from '../../src/ops/doctor/journal-checks.js';

const open: Journal[] = [];
const found: OlderJournal[] = [];
const dirs: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'older-journals-test-'));
  dirs.push(dir);
  return dir;
}

function journal(dir: string, clientId?: string, entries = 0): Journal {
  const j = new Journal(dir, 'normal');
  open.push(j);
  if (clientId) j.setSetting(POSITION_CLIENT_ID, clientId);
  const msgs = Array.from({ length: entries }, (_, i) => ({ topic: 'serre/1/bac/1', payload: Buffer.from(`{"i":${i}}`), receivedAt: 1, packetId: undefined, dup: false }));
  if (entries > 0) j.appendMessages(msgs, 1024);
  return j;
}

/** The log lines a search wrote, parsed. */
let logged: Array<Record<string, unknown>> = [];

function find(root: string, own: Journal, clientId: string, slotMode = false) {
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) });
  const result = findOlderJournals({ dataDir: root, own, clientId, slotMode, sync: 'normal', retention: NO_RETENTION, log });
  found.push(...result.older);
  return result;
}

/** A journal.sqlite that SQLite cannot open: a copy damaged beyond its header. */
function damagedJournal(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, JOURNAL_FILE);
  writeFileSync(file, 'not a SQLite database '.repeat(100));
  return file;
}

afterEach(() => {
  logged = [];
  for (const f of found.splice(0)) f.release();
  for (const j of open.splice(0)) j.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('findOlderJournals', () => {
  it('finds nothing when the own journal was recorded under the same client id', () => {
    const root = dataDir();
    expect(find(root, journal(root, 'a', 3), 'a').older).toEqual([]);
  });

  it('moves an empty own journal to the new client id at once', () => {
    const root = dataDir();
    const own = journal(root, 'a');
    expect(find(root, own, 'b').older).toEqual([]);
    expect(own.setting(POSITION_CLIENT_ID)).toBe('b');
  });

  it('hands over the own entries recorded under another client id, up to the last one at start', () => {
    const root = dataDir();
    const own = journal(root, 'a', 3);
    const [older] = find(root, own, 'b').older;
    expect(older).toMatchObject({ own: true, entries: 3, recordedClientId: 'a' });
    own.appendMessages([{ topic: 'serre/1/bac/1', payload: Buffer.from('{}'), receivedAt: 2, packetId: undefined, dup: false }], 1024);
    expect(older!.view.read(0, 100).map((e) => e.seq)).toEqual([1, 2, 3]);
    older!.view.markCommitted(3);
    expect(older!.view.isEmpty()).toBe(true);
    expect(own.isEmpty()).toBe(false); // the newer entry is the bridge's own
  });

  it('in slot mode, hands over DATA_DIR’s own journal and leaves the other slots to their instances', () => {
    const root = dataDir();
    journal(root, 'mqtt-bridge', 2).close();
    journal(join(root, 'slot-2'), 'b-2', 2).close();
    const own = journal(join(root, 'slot-1'), 'b-1');
    const { older } = find(root, own, 'b-1', true);
    expect(older.map((o) => [o.file, o.recordedClientId, o.entries])).toEqual([[join(root, 'journal.sqlite'), 'mqtt-bridge', 2]]);
  });

  it('without slots, hands over the slots’ journals that hold entries and no running bridge holds', () => {
    const root = dataDir();
    journal(join(root, 'slot-1'), 'b-1', 1).close();
    journal(join(root, 'slot-2'), 'b-2').close(); // empty: nothing to do
    const held = journal(join(root, 'slot-3'), 'b-3', 1); // locked by "another bridge"
    const own = journal(root, 'mqtt-bridge');
    const result = find(root, own, 'mqtt-bridge');
    expect(result.older.map((o) => o.recordedClientId)).toEqual(['b-1']);
    expect(result.locked).toEqual([held.file]);
  });

  it('marks the slots’ journals for the shared order of controller events, not DATA_DIR’s or the own one', () => {
    const root = dataDir();
    journal(join(root, 'slot-1'), 'b-1', 1).close();
    journal(join(root, 'slot-2'), 'b-2', 1).close();
    const own = journal(root, 'mqtt-bridge-old', 1);
    const { older } = find(root, own, 'mqtt-bridge');
    expect(older.map((o) => [o.recordedClientId, o.own, o.fromSharedGroup])).toEqual([
      ['mqtt-bridge-old', true, false],
      ['b-1', false, true],
      ['b-2', false, true],
    ]);
  });

  it('skips a journal that cannot be opened, with a WARN naming the file and what to do, and still hands over the others', () => {
    const root = dataDir();
    const damaged = damagedJournal(join(root, 'slot-1'));
    journal(join(root, 'slot-2'), 'b-2', 1).close();
    const own = journal(root, 'mqtt-bridge');
    const result = find(root, own, 'mqtt-bridge');
    expect(result.older.map((o) => o.recordedClientId)).toEqual(['b-2']);
    expect(result.unreadable).toEqual([damaged]);
    const warning = logged.find((l) => l.file === damaged);
    expect(warning).toMatchObject({ level: 40, msg: expect.stringMatching(/cannot be opened; the bridge starts without writing it/) });
    expect(warning?.fix).toMatch(/damaged: move it out of DATA_DIR and keep it/);
  });
});

describe('peekJournal', () => {
  it('reads what a journal holds and lets go of it', () => {
    const root = dataDir();
    journal(root, 'mqtt-bridge', 2).close();
    expect(peekJournal(root)).toEqual({
      file: join(root, JOURNAL_FILE),
      entries: 2,
      oldestReceivedAt: 1,
      recordedClientId: 'mqtt-bridge',
      retained: { entries: 0, bytes: 0, oldestReceivedAt: undefined },
    });
    journal(root).close(); // the lock was released: the bridge opens it
  });

  it('says locked for a journal a running bridge holds', () => {
    const root = dataDir();
    journal(root, 'mqtt-bridge', 1);
    expect(peekJournal(root)).toBe('locked');
  });
});

describe('doctor: journals in DATA_DIR', () => {
  it('reports a journal that cannot be opened beside the ones that hold entries', () => {
    const root = dataDir();
    const damaged = damagedJournal(join(root, 'slot-1'));
    journal(join(root, 'slot-2'), 'b-2', 3).close();
    const result = journalResult(root, [findJournal(join(root, 'slot-1')), findJournal(join(root, 'slot-2'))]);
    expect(result.status).toBe('warn');
    expect(result.detail).toContain(`${damaged} cannot be opened (file is not a database (SQLITE_NOTADB)); the bridge starts without writing it`);
    expect(result.detail).toContain(`${join(root, 'slot-2', JOURNAL_FILE)} holds 3 entries`);
    expect(result.fix).toMatch(/^start the bridge on this DATA_DIR.*; for a journal that cannot be opened: the file is damaged: move it out of DATA_DIR/);
  });

  it('says how far back a journal can refill a database restored from a backup', () => {
    const root = dataDir();
    const j = journal(root, 'a', 4);
    j.markCommitted(4);
    j.close();
    const result = journalResult(root, [findJournal(root)]);
    expect(result.status).toBe('ok');
    expect(result.detail).toMatch(new RegExp(`${join(root, JOURNAL_FILE)} can refill a database restored from a backup back to \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(4 entries kept, 0\\.0 MiB\\)`));
  });

  it('passes when every journal is empty or held by a running bridge', () => {
    const root = dataDir();
    journal(join(root, 'slot-1'), 'b-1').close();
    const held = journal(join(root, 'slot-2'), 'b-2', 1);
    const result = journalResult(root, [findJournal(join(root, 'slot-1')), findJournal(join(root, 'slot-2'))]);
    expect(result.status).toBe('ok');
    expect(result.detail).toContain(`in use by a running bridge (it writes them itself): ${held.file}`);
  });
});
