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
import { basename, join } from 'node:path';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import { JOURNAL_FILE, Journal, JournalLockedError, POSITION_CLIENT_ID, type JournalSync, type Retention } from './journal.js';
import { JournalPrefix } from './journal-prefix.js';
import { unreadableJournalFix } from './unreadable-journal.js';


/** The folder of a slot's journal under DATA_DIR (slots.ts). */
const SLOT_DIR = /^slot-\d+$/;

export interface OlderJournal {
  /** What is to be written: a whole journal, or the own journal's entries up to the start. */
  readonly view: DrainJournal & { isEmpty(): boolean };
  readonly file: string;
  readonly entries: number;
  /** The client id the journal recorded, undefined for a journal made before it did. */
  readonly recordedClientId: string | undefined;
  /** The bridge's own journal (same file, new client id), not another one. */
  readonly own: boolean;
  /**
   * A slot-<n> journal: its instance was one of a shared group, where every instance receives
   * every controller message, so its controller events interleave with the other slots' ones.
   */
  readonly fromSharedGroup: boolean;
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
  /** The bridge's retention policy: an older journal keeps what it committed as its own does. */
  retention: Retention;
  log: Logger;
}

/** What a journal holds, as `doctor` and the handover see it. */
export interface JournalContents {
  file: string;
  entries: number;
  /** Receipt time of its oldest entry; undefined when it holds none. */
  oldestReceivedAt: number | undefined;
  /** The client id its position row is recorded under; undefined for a journal made before it was. */
  recordedClientId: string | undefined;
  /** Committed entries kept to refill a database restored from a backup (retention). */
  retained: { entries: number; bytes: number; oldestReceivedAt: number | undefined };
}

function contentsOf(journal: Journal): JournalContents {
  const { entries, bytes, oldestReceivedAt } = journal.retainedWindow();
  return {
    file: journal.file,
    entries: journal.backlogSize().entries,
    oldestReceivedAt: journal.oldestReceivedAt(),
    recordedClientId: journal.setting(POSITION_CLIENT_ID),
    retained: { entries, bytes, oldestReceivedAt },
  };
}

/**
 * Opens the journal in `dir` the way the bridge does, with its exclusive lock: 'locked' when a
 * running bridge holds it. Throws when the file cannot be opened (damaged, no permission).
 */
function openUnlocked(dir: string, sync: JournalSync, retention?: Retention): Journal | 'locked' {
  try {
    return new Journal(dir, sync, { retention });
  } catch (err) {
    if (err instanceof JournalLockedError) return 'locked';
    throw err;
  }
}

/**
 * What the journal in `dir` holds, opened for a moment: 'locked' when a running bridge holds
 * it. Throws when the file cannot be opened (see unreadable-journal.ts).
 */
export function peekJournal(dir: string, sync: JournalSync = 'normal'): JournalContents | 'locked' {
  const journal = openUnlocked(dir, sync);
  if (journal === 'locked') return 'locked';
  try {
    return contentsOf(journal);
  } finally {
    journal.close();
  }
}

/** Directories under DATA_DIR that hold a journal: DATA_DIR itself and its slot-<n> folders. */
export function journalDirs(dataDir: string): string[] {
  const slots = (() => {
    try {
      return readdirSync(dataDir).filter((name) => SLOT_DIR.test(name));
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
    own.setPositionClientId(clientId);
    return undefined;
  }
  return {
    view: new JournalPrefix(own, own.lastSequence),
    file: own.file,
    entries,
    recordedClientId: recorded,
    own: true,
    fromSharedGroup: false,
    finish: (id) => own.setPositionClientId(id),
    release: () => undefined,
  };
}

/**
 * Another bridge's journal: only one that no running bridge holds (its lock), and that no
 * bridge of this configuration will open again. In slot mode the other slots belong to the
 * other instances, which find them again at their next start; DATA_DIR's own journal belongs
 * to a configuration without `{slot}`. Without slot mode, the slots are the old ones.
 */
function otherJournal(dir: string, sync: JournalSync, retention: Retention): OlderJournal | 'locked' | undefined {
  const journal = openUnlocked(dir, sync, retention);
  if (journal === 'locked') return 'locked';
  const { file, entries, recordedClientId } = contentsOf(journal);
  if (entries === 0) {
    journal.close();
    return undefined;
  }
  return {
    view: journal,
    file,
    entries,
    recordedClientId,
    own: false,
    fromSharedGroup: SLOT_DIR.test(basename(dir)),
    finish: () => journal.close(),
    release: () => journal.close(),
  };
}

export interface FoundJournals {
  older: OlderJournal[];
  /** Journals with a lock held by a running bridge: its own business. */
  locked: string[];
  /** Journals that cannot be opened (damaged, no permission): skipped, with a WARN line. */
  unreadable: string[];
}

/** The bridge's own older entries first, then the other journals in DATA_DIR that qualify. */
export function findOlderJournals(search: JournalSearch): FoundJournals {
  const older: OlderJournal[] = [];
  const locked: string[] = [];
  const unreadable: string[] = [];
  const own = ownPrefix(search);
  if (own) older.push(own);
  const others = journalDirs(search.dataDir).filter((dir) => (search.slotMode ? dir === search.dataDir : dir !== search.dataDir));
  for (const dir of others) {
    const file = join(dir, JOURNAL_FILE);
    if (file === search.own.file) continue;
    try {
      const found = otherJournal(dir, search.sync, search.retention);
      if (found === 'locked') locked.push(file);
      else if (found) older.push(found);
    } catch (err) {
      // Another bridge's old journal must not keep this one from starting: it goes on without it.
      unreadable.push(file);
      search.log.warn({ file, err: errorMessage(err), fix: unreadableJournalFix(err) }, 'an older journal in DATA_DIR cannot be opened; the bridge starts without writing it');
    }
  }
  if (locked.length > 0) search.log.info({ files: locked }, 'journals in DATA_DIR held by other running bridges are left to them');
  return { older, locked, unreadable };
}
