import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { schoolOfDir } from '../../schools/school-ids.js';
import { JOURNAL_FILE } from '../../journal/journal.js';
import { journalDirs, peekJournal, type JournalContents } from '../../journal/older-journals.js';
import { isAccessProblem, unreadableJournalFix } from '../../journal/unreadable-journal.js';
import { formatDateTime } from '../../time.js';
import { errorText, ok, warn, skip, type CheckResult } from './check.js';

/**
 * The journals in DATA_DIR (its own and those of its slot-<n> folders) that still hold entries
 * not written to MySQL: after a change of MQTT_CLIENT_ID or slot, or a stop during an outage.
 * Each journal is opened the way the bridge opens it, with an exclusive lock, for a moment; one
 * a running bridge holds is reported as such and left alone, one that cannot be opened (which
 * the bridge skips at start) is reported with what to do.
 */

export const JOURNALS_LABEL = 'Journals in DATA_DIR';

/** What doctor found of one journal file. */
export type JournalFinding =
  | ({ state: 'read' } & JournalContents)
  | { state: 'locked'; file: string }
  | { state: 'unreadable'; file: string; error: string; fix: string };

export function findJournal(dir: string): JournalFinding {
  const file = resolve(dir, JOURNAL_FILE);
  try {
    const peeked = peekJournal(dir);
    return peeked === 'locked' ? { state: 'locked', file } : { state: 'read', ...peeked };
  } catch (err) {
    // The doctor's own user may be the one without access.
    const asBridge = isAccessProblem(err) ? " (or run the doctor as the bridge's user, uid 1001 in the container, if it is the doctor that lacks access)" : '';
    return { state: 'unreadable', file, error: errorText(err), fix: `${unreadableJournalFix(err)}${asBridge}` };
  }
}

/** How far back a journal can refill a database restored from a backup (docs/recovery.md). */
function retainedText(j: JournalContents): string | undefined {
  const r = j.retained;
  if (r.entries === 0 || r.oldestReceivedAt === undefined) return undefined;
  return `${j.file} can refill a database restored from a backup back to ${formatDateTime(r.oldestReceivedAt)} (${r.entries} entries kept, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB)`;
}

function describe(j: JournalContents): string {
  const since = j.oldestReceivedAt === undefined ? '' : `, the oldest received ${formatDateTime(j.oldestReceivedAt)}`;
  const who = j.recordedClientId === undefined ? '' : `, recorded under client id ${j.recordedClientId}`;
  return `${j.file} holds ${j.entries} entries${since}${who}`;
}

export function journalResult(dataDir: string, journals: JournalFinding[]): CheckResult {
  const waiting = journals.flatMap((j) => (j.state === 'read' && j.entries > 0 ? [j] : []));
  const held = journals.flatMap((j) => (j.state === 'locked' ? [j.file] : []));
  const unreadable = journals.flatMap((j) => (j.state === 'unreadable' ? [j] : []));
  const heldText = held.length > 0 ? `; in use by a running bridge (it writes them itself): ${held.join(', ')}` : '';
  const parts = [
    ...waiting.map(describe),
    ...unreadable.map((j) => `${j.file} cannot be opened (${j.error}); the bridge starts without writing it`),
  ];
  const retained = journals.flatMap((j) => (j.state === 'read' ? (retainedText(j) ?? []) : []));
  const retainedPart = retained.length > 0 ? `; ${retained.join('; ')}` : '';
  const heldRetained = held.length > 0 ? ' (how far back a running bridge can refill a restored database: its status page, or parc_bridge_journal_retained_seconds)' : '';
  if (parts.length === 0) {
    const none = journals.length === 0 ? `no journal in ${dataDir} yet` : `no journal in ${dataDir} holds entries waiting for the database`;
    return ok(JOURNALS_LABEL, `${none}${retainedPart}${heldText}${heldRetained}`);
  }
  const fixes = [
    ...(waiting.length > 0
      ? ['start the bridge on this DATA_DIR with the database reachable: it writes these first, whatever its MQTT_CLIENT_ID (another slot-<n> is written by the instance that takes that slot: scale up until it runs)']
      : []),
    ...[...new Set(unreadable.map((j) => j.fix))].map((fix) => `for a journal that cannot be opened: ${fix}`),
  ];
  return warn(JOURNALS_LABEL, `${parts.join('; ')}${retainedPart}${heldText}${heldRetained}`, fixes.join('; '));
}

/** The schools' journals of a bridge serving several (DATA_DIR/ecole-<id>, docs/schools.md). */
function schoolJournalDirs(dataDir: string): string[] {
  try {
    return readdirSync(dataDir)
      .filter((name) => schoolOfDir(name) !== undefined && existsSync(join(dataDir, name, JOURNAL_FILE)))
      .sort()
      .map((name) => join(dataDir, name));
  } catch {
    return [];
  }
}

export async function checkJournals(dataDir: string | undefined): Promise<CheckResult> {
  if (dataDir === undefined) return skip(JOURNALS_LABEL, 'fix the DATA_DIR setting first');
  const dir = resolve(dataDir);
  return journalResult(dir, [...journalDirs(dir), ...schoolJournalDirs(dir)].map(findJournal));
}
