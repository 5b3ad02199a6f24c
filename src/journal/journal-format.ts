/**
 * The journal file's format, versioned with SQLite's `user_version`, and its forward
 * migrations. A journal is the only copy of what the broker was told is safe, so a bridge
 * upgraded with a backlog must open and drain the old format; a bridge downgraded below the
 * format of its journal must refuse it without touching the file (it would misread it).
 *
 * - 0: the first format (parc-bridge up to 0.2.0): every entry present is not yet committed;
 *   `removed_up_to` in meta is where the committed ones ended.
 * - 1: committed entries are kept for a while (retention, see journal.ts): `committed_up_to`
 *   says which present entries are committed; `position_base` is where the position row of
 *   the journal's current client id starts; `removed_range` keeps when what was removed had
 *   been received.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export const JOURNAL_FORMAT = 1;

const HEADER_BYTES = 100;
const SQLITE_MAGIC = 'SQLite format 3\0';
/** Where SQLite keeps `user_version` in the file header (big-endian). */
const USER_VERSION_OFFSET = 60;

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS entry (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    packet_id INTEGER,
    digest BLOB
  );
  -- Packet ids of entries already removed, kept to recognise their redelivery after a restart.
  CREATE TABLE IF NOT EXISTS recent_packet (
    packet_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    digest BLOB NOT NULL
  );
  -- Receipt times of what retention removed, one row per removal: a database that goes back
  -- further than the journal keeps is told when the readings it lost were received.
  CREATE TABLE IF NOT EXISTS removed_range (
    up_to_seq INTEGER PRIMARY KEY,
    first_received_at INTEGER NOT NULL,
    last_received_at INTEGER NOT NULL
  );
`;

export class JournalFormatError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
  ) {
    super(
      `the journal ${file} has format ${found}, written by a newer parc-bridge; this version reads formats up to ${JOURNAL_FORMAT}. ` +
        'Nothing was changed in the file. Run the newer version again until its backlog is written (doctor shows it), ' +
        'or move the file out of DATA_DIR and keep it for that version',
    );
    this.name = 'JournalFormatError';
  }
}

/**
 * The format recorded in an existing file's header, read without opening it as a database:
 * opening a WAL database may checkpoint it, and a file of a newer format must stay untouched.
 * Undefined when there is no file yet (or not a database, which SQLite then reports itself).
 */
export function recordedFormat(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES) return undefined;
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, SQLITE_MAGIC.length) !== SQLITE_MAGIC) return undefined;
  return header.readUInt32BE(USER_VERSION_OFFSET);
}

/**
 * Throws before anything is written when the file's format is newer than this version's. A
 * newer bridge killed before its last checkpoint may have the version in the WAL file only:
 * then it is read through a read-only connection, which never checkpoints.
 */
export function refuseNewerFormat(file: string): void {
  let found = recordedFormat(file);
  const wal = `${file}-wal`;
  if (found !== undefined && found <= JOURNAL_FORMAT && existsSync(wal) && statSync(wal).size > 0) {
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
      try {
        found = Number(db.pragma('user_version', { simple: true }));
      } finally {
        db.close();
      }
    } catch (err) {
      // Held by a running bridge: the open that follows says so.
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
    }
  }
  if (found !== undefined && found > JOURNAL_FORMAT) throw new JournalFormatError(file, found);
}

/** Each step takes a database of format `from` to `from + 1`, inside one transaction. */
const MIGRATIONS: Record<number, (db: Database.Database) => void> = {
  0: (db) => {
    // Everything left in a format-0 journal is waiting; what it removed was committed.
    db.prepare(
      "INSERT OR IGNORE INTO meta (key, value) SELECT 'committed_up_to', coalesce((SELECT value FROM meta WHERE key = 'removed_up_to'), '0')",
    ).run();
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('position_base', '0')").run();
  },
};

/**
 * Makes the tables (a new file gets the current format at once) and migrates an older file
 * forward. Returns the format the file had, for the log.
 */
export function prepareFormat(db: Database.Database, file: string): number {
  const isNew = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'entry'").get() as { n: number }).n === 0;
  const found = isNew ? JOURNAL_FORMAT : Number(db.pragma('user_version', { simple: true }));
  // Checked again before anything is written (refuseNewerFormat read the file beforehand).
  if (found > JOURNAL_FORMAT) throw new JournalFormatError(file, found);
  db.exec(SCHEMA);
  if (isNew) {
    db.pragma(`user_version = ${JOURNAL_FORMAT}`);
    return JOURNAL_FORMAT;
  }
  for (let version = found; version < JOURNAL_FORMAT; version++) {
    db.transaction(() => {
      MIGRATIONS[version]!(db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return found;
}
