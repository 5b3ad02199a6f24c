/**
 * What the broker session is subscribed to, kept across restarts: a persistent session keeps
 * every filter it ever subscribed to, so a filter the bridge no longer uses (MQTT_SHARED_GROUP
 * changed, a school left SCHOOLS) would go on matching, delivering readings twice or queueing
 * a school's readings for nobody. The source unsubscribes what an earlier run subscribed to and
 * this run does not.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from '../journal/journal.js';

export interface SubscriptionRecord {
  /** Filters an earlier run may have left in the session. */
  previous(): string[];
  /** The filters the session holds now. */
  save(filters: string[]): void;
}

/** The single-school bridge's journal setting: its readings filter (the others never change). */
export const READINGS_SUBSCRIPTION = 'readings_subscription';
/** Where a bridge serving several schools keeps its session's filters, in DATA_DIR. */
export const SESSION_FILTERS_FILE = 'subscriptions.json';

export function readSessionFilters(dataDir: string): string[] | undefined {
  const file = join(dataDir, SESSION_FILTERS_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const filters: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(filters) ? filters.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return []; // unreadable: nothing more can be known of that session
  }
}

/** Written whole or not at all: a crash leaves the previous list. */
function writeSessionFilters(dataDir: string, filters: string[]): void {
  const file = join(dataDir, SESSION_FILTERS_FILE);
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, JSON.stringify(filters));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

/**
 * The single-school bridge: its readings filter in the journal's settings, as it always was;
 * and what a run with SCHOOLS on the same DATA_DIR left (back from school mode).
 */
export function journalSubscriptionRecord(journal: Journal, dataDir: string): SubscriptionRecord {
  return {
    previous: () => {
      const readings = journal.setting(READINGS_SUBSCRIPTION);
      return [...(readings ? [readings] : []), ...(readSessionFilters(dataDir) ?? [])];
    },
    save: ([readings]) => {
      if (readings !== undefined && journal.setting(READINGS_SUBSCRIPTION) !== readings) journal.setSetting(READINGS_SUBSCRIPTION, readings);
      rmSync(join(dataDir, SESSION_FILTERS_FILE), { force: true });
    },
  };
}

/**
 * A bridge serving several schools: the whole list in DATA_DIR. Before its first save, what
 * a single-school run on the same DATA_DIR subscribed to (`earlier`).
 */
export function schoolsSubscriptionRecord(dataDir: string, earlier: string[]): SubscriptionRecord {
  return {
    previous: () => readSessionFilters(dataDir) ?? earlier,
    save: (filters) => {
      const saved = readSessionFilters(dataDir);
      if (saved?.length !== filters.length || saved.some((f, i) => f !== filters[i])) writeSessionFilters(dataDir, filters);
    },
  };
}
