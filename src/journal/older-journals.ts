/**
 * Journals in DATA_DIR that hold entries recorded under another client id than the bridge's
 * own: left by a bridge whose MQTT_CLIENT_ID or slot changed (e.g. from `mqtt-bridge` to
 * `mqtt-bridge-{slot}`). Their entries were acknowledged to the broker, so nobody else will
 * ever send them again: the bridge writes them before its own (see handover.ts).
 *
 * A journal's commits are recorded in `bridge_journal_position` under one client id; the
 * journal keeps that id in its settings, so that its entries are always written under it,
 * and the position row keeps guarding them against being written twice.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import { JOURNAL_FILE, Journal, JournalLockedError, type JournalSync } from './journal.js';
import { JournalPrefix } from './journal-prefix.js';

/** The journal setting that names the client id of its position row. */
export const POSITION_CLIENT_ID = 'position_client_id';

export interface OlderJournal {
  /** What is to be written: a whole journal, or the own journal's entries up to the start. */
  readonly view: DrainJournal & { isEmpty(): boolean };
  readonly file: string;
  readonly entries: number;
  /** The client id the journal recorded, undefined for a journal made before it did. */
  readonly recordedClientId: string | undefined;
  /** The bridge's own journal (same file, new client id), not another one. */
  readonly own: boolean;
  /** Called once written (or found to be the bridge's own after all): hands the journal over. */
  finish(clientId: string): void;
  /** Lets go of the journal's file (another journal's lock) without finishing. */
  release(): void;
}

export interface JournalSearch {
  /** DATA_DIR as configured (the slots' parent in slot mode). */
  dataDir: string;
  /** The journal this bridge appends to, and the client id it runs with. */
  own: Journal;
  clientId: string;
  /** MQTT_CLIENT_ID with `{slot}`: the journal is DATA_DIR/slot-<n>. */
  slotMode: boolean;
  sync: JournalSync;
}

/** Directories under DATA_DIR that hold a journal: DATA_DIR itself and its slot-<n> folders. */
export function journalDirs(dataDir: string): string[] {
  const slots = (() => {
    try {
      return readdirSync(dataDir).filter((name) => /^slot-\d+$/.test(name));
    } catch {
      return [];
    }
  })().sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  return [dataDir, ...slots.map((slot) => join(dataDir, slot))].filter((dir) => existsSync(join(dir, JOURNAL_FILE)));
}

function ownPrefix(search: JournalSearch): OlderJournal | undefined {
  const { own, clientId } = search;
  const recorded = own.setting(POSITION_CLIENT_ID);
  if (recorded === clientId) return undefined;
  const entries = own.backlogSize().entries;
  if (entries === 0) {
    // Nothing recorded under the old id is left: the position row may move to the new one.
    own.setSetting(POSITION_CLIENT_ID, clientId);
    return undefined;
  }
  return {
    view: new JournalPrefix(own, own.lastSequence),
    file: own.file,
    entries,
    recordedClientId: recorded,
    own: true,
    finish: (id) => own.setSetting(POSITION_CLIENT_ID, id),
    release: () => undefined,
  };
}

/**
 * Another bridge's journal: only one that no running bridge holds (its lock), and that no
 * bridge of this configuration will open again. In slot mode the other slots belong to the
 * other instances, which find them again at their next start; DATA_DIR's own journal belongs
 * to a configuration without `{slot}`. Without slot mode, the slots are the old ones.
 */
function otherJournal(dir: string, sync: JournalSync): OlderJournal | 'locked' | undefined {
  let journal: Journal;
  try {
    journal = new Journal(dir, sync);
  } catch (err) {
    if (err instanceof JournalLockedError) return 'locked';
    throw err;
  }
  const entries = journal.backlogSize().entries;
  if (entries === 0) {
    journal.close();
    return undefined;
  }
  return {
    view: journal,
    file: journal.file,
    entries,
    recordedClientId: journal.setting(POSITION_CLIENT_ID),
    own: false,
    finish: () => journal.close(),
    release: () => journal.close(),
  };
}

export interface FoundJournals {
  older: OlderJournal[];
  /** Journals with a lock held by a running bridge: its own business. */
  locked: string[];
}

/** The bridge's own older entries first, then the other journals in DATA_DIR that qualify. */
export function findOlderJournals(search: JournalSearch): FoundJournals {
  const older: OlderJournal[] = [];
  const locked: string[] = [];
  const own = ownPrefix(search);
  if (own) older.push(own);
  const others = journalDirs(search.dataDir).filter((dir) => (search.slotMode ? dir === search.dataDir : dir !== search.dataDir));
  for (const dir of others) {
    if (join(dir, JOURNAL_FILE) === search.own.file) continue;
    const found = otherJournal(dir, search.sync);
    if (found === 'locked') locked.push(join(dir, JOURNAL_FILE));
    else if (found) older.push(found);
  }
  return { older, locked };
}
