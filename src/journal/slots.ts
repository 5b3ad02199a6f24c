/**
 * Several bridges on one shared DATA_DIR (`docker compose up --scale bridge=3` mounts the same
 * volume in every replica): each takes the first free slot `DATA_DIR/slot-<n>`, whose journal
 * lock proves nobody else has it, and uses `n` in its MQTT client id. A replica re-created
 * after an update finds its slot again (the lowest free one), with its journal and its
 * persistent session on the broker.
 */
import { join } from 'node:path';
import { Journal, JournalLockedError, type JournalSync } from './journal.js';

export const SLOT_PLACEHOLDER = '{slot}';
const MAX_SLOTS = 64;

export interface OpenedJournal {
  journal: Journal;
  clientId: string;
  dataDir: string;
}

export function openJournal(dataDir: string, clientIdTemplate: string, sync: JournalSync): OpenedJournal {
  if (!clientIdTemplate.includes(SLOT_PLACEHOLDER)) {
    return { journal: new Journal(dataDir, sync), clientId: clientIdTemplate, dataDir };
  }
  for (let slot = 1; slot <= MAX_SLOTS; slot++) {
    const slotDir = join(dataDir, `slot-${slot}`);
    try {
      return { journal: new Journal(slotDir, sync), clientId: clientIdTemplate.replaceAll(SLOT_PLACEHOLDER, String(slot)), dataDir: slotDir };
    } catch (err) {
      if (!(err instanceof JournalLockedError)) throw err;
    }
  }
  throw new Error(`all ${MAX_SLOTS} journal slots under ${dataDir} are in use`);
}
