/**
 * Several bridges on one shared DATA_DIR (`docker compose up --scale bridge=3` mounts the same
 * volume in every replica): each takes the first free slot `DATA_DIR/slot-<n>`, whose journal
 * lock proves nobody else has it, and uses `n` in its MQTT client id. A replica re-created
 * after an update finds its slot again (the lowest free one), with its journal and its
 * persistent session on the broker.
 */
import { join } from 'node:path';
import { Journal, JournalLockedError, type JournalOptions, type JournalSync } from './journal.js';

export const SLOT_PLACEHOLDER = '{slot}';
const MAX_SLOTS = 64;

export interface OpenedJournal {
  journal: Journal;
  clientId: string;
  dataDir: string;
}

/**
 * `sharedGroup` guards against scaling without sharing: a second instance without
 * MQTT_SHARED_GROUP would receive every reading too, and write it a second time.
 */
export function openJournal(dataDir: string, clientIdTemplate: string, sync: JournalSync, sharedGroup: string, options: JournalOptions = {}): OpenedJournal {
  if (!clientIdTemplate.includes(SLOT_PLACEHOLDER)) {
    return { journal: new Journal(dataDir, sync, options), clientId: clientIdTemplate, dataDir };
  }
  for (let slot = 1; slot <= MAX_SLOTS; slot++) {
    const slotDir = join(dataDir, `slot-${slot}`);
    let journal: Journal;
    try {
      journal = new Journal(slotDir, sync, options);
    } catch (err) {
      if (!(err instanceof JournalLockedError)) throw err;
      continue;
    }
    if (slot > 1 && !sharedGroup) {
      journal.close();
      throw new Error(
        `another bridge already runs on ${dataDir} (slot 1): set MQTT_SHARED_GROUP on every instance so that they share the readings, or each reading would be written once per bridge`,
      );
    }
    return { journal, clientId: clientIdTemplate.replaceAll(SLOT_PLACEHOLDER, String(slot)), dataDir: slotDir };
  }
  throw new Error(`all ${MAX_SLOTS} journal slots under ${dataDir} are in use`);
}
