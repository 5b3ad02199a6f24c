/** Which journals a bridge hands over at start (real SQLite files in a temp dir). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { findOlderJournals, POSITION_CLIENT_ID, type OlderJournal } from '../../src/journal/older-journals.js';

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

function find(root: string, own: Journal, clientId: string, slotMode = false) {
  const result = findOlderJournals({ dataDir: root, own, clientId, slotMode, sync: 'normal' });
  found.push(...result.older);
  return result;
}

afterEach(() => {
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
    older!.view.removeUpTo(3);
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
});
