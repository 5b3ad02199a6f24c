/** Journal slots for several bridges on one DATA_DIR (real SQLite files in a temp dir). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal, type OpenedJournal } from '../../src/journal/slots.js';

const opened: OpenedJournal[] = [];
const dirs: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slots-test-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, template: string, sharedGroup = 'parc'): OpenedJournal {
  const o = openJournal(dir, template, 'normal', sharedGroup);
  opened.push(o);
  return o;
}

afterEach(() => {
  for (const o of opened.splice(0)) o.journal.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('openJournal', () => {
  it('uses DATA_DIR itself when the client id has no {slot}', () => {
    const dir = dataDir();
    const o = open(dir, 'mqtt-bridge');
    expect(o).toMatchObject({ clientId: 'mqtt-bridge', dataDir: dir });
  });

  it('gives each instance the lowest free slot, and the same slot again after a restart', () => {
    const dir = dataDir();
    const first = open(dir, 'bridge-{slot}');
    const second = open(dir, 'bridge-{slot}');
    expect([first.clientId, second.clientId]).toEqual(['bridge-1', 'bridge-2']);
    expect(second.dataDir).toBe(join(dir, 'slot-2'));

    const journalId = second.journal.id;
    second.journal.close();
    opened.splice(opened.indexOf(second), 1);
    const again = open(dir, 'bridge-{slot}');
    expect(again.clientId).toBe('bridge-2');
    expect(again.journal.id).toBe(journalId);
  });

  it('refuses a second instance on the same DATA_DIR without a shared group', () => {
    const dir = dataDir();
    open(dir, 'bridge-{slot}', '');
    expect(() => open(dir, 'bridge-{slot}', '')).toThrow(/MQTT_SHARED_GROUP/);
    // Its slot was not kept: a correctly configured instance still gets slot 2.
    expect(open(dir, 'bridge-{slot}', 'parc').clientId).toBe('bridge-2');
  });
});
