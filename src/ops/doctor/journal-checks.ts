import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { JOURNAL_FILE } from '../../journal/journal.js';
import { journalDirs, POSITION_CLIENT_ID } from '../../journal/older-journals.js';
import { formatDateTime } from '../../time.js';
import { errorText, ok, skip, warn, type CheckResult } from './check.js';

/**
 * The journals in DATA_DIR (its own and those of its slot-<n> folders) that still hold entries
 * not written to MySQL: after a change of MQTT_CLIENT_ID or slot, or a stop during an outage.
 * Each journal is opened the way the bridge opens it, with an exclusive lock, for a moment; one
 * a running bridge holds is reported as such and left alone.
 */

export const JOURNALS_LABEL = 'Journals in DATA_DIR';

export interface JournalContents {
  file: string;
  /** Undefined when a running bridge holds the journal. */
  entries?: number;
  oldestReceivedAt?: number;
  clientId?: string;
}

export function readJournal(file: string): JournalContents {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const row = db.prepare<[], { n: number; oldest: number | null }>('SELECT count(*) AS n, min(received_at) AS oldest FROM entry').get()!;
    const clientId = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(`setting:${POSITION_CLIENT_ID}`)?.value;
    return { file, entries: row.n, oldestReceivedAt: row.oldest ?? undefined, clientId };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return { file };
    throw err;
  } finally {
    db.close();
  }
}

function describe(j: JournalContents): string {
  const since = j.oldestReceivedAt === undefined ? '' : `, the oldest received ${formatDateTime(j.oldestReceivedAt)}`;
  const who = j.clientId === undefined ? '' : `, recorded under client id ${j.clientId}`;
  return `${j.file} holds ${j.entries} entries${since}${who}`;
}

export function journalResult(dataDir: string, journals: JournalContents[]): CheckResult {
  const waiting = journals.filter((j) => (j.entries ?? 0) > 0);
  const held = journals.filter((j) => j.entries === undefined).map((j) => j.file);
  const heldText = held.length > 0 ? `; in use by a running bridge (it writes them itself): ${held.join(', ')}` : '';
  if (waiting.length === 0) {
    const none = journals.length === 0 ? `no journal in ${dataDir} yet` : `no journal in ${dataDir} holds entries waiting for the database`;
    return ok(JOURNALS_LABEL, `${none}${heldText}`);
  }
  return warn(
    JOURNALS_LABEL,
    `${waiting.map(describe).join('; ')}${heldText}`,
    'start the bridge on this DATA_DIR with the database reachable: it writes these first, whatever its MQTT_CLIENT_ID (another slot-<n> is written by the instance that takes that slot: scale up until it runs)',
  );
}

export async function checkJournals(dataDir: string | undefined): Promise<CheckResult> {
  if (dataDir === undefined) return skip(JOURNALS_LABEL, 'fix the DATA_DIR setting first');
  const dir = resolve(dataDir);
  const journals: JournalContents[] = [];
  for (const journalDir of journalDirs(dir)) {
    const file = resolve(journalDir, JOURNAL_FILE);
    try {
      journals.push(readJournal(file));
    } catch (err) {
      return warn(JOURNALS_LABEL, `cannot read ${file}: ${errorText(err)}`, "run the doctor as the bridge's user (uid 1001 in the container)");
    }
  }
  return journalResult(dir, journals);
}
