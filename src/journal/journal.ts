/**
 * The local durable journal: every message is appended here before the broker gets its
 * PUBACK; the drain writes entries to MySQL and removes them once committed.
 *
 * SQLite in WAL mode (better-sqlite3), one connection in exclusive mode. The messages that
 * arrive together are appended in one transaction (see mqtt/source.ts), so even with
 * `synchronous=FULL` (the default: one fsync per group, safe against a power cut of the host)
 * appending costs a few µs per message. `NORMAL` skips the fsync and survives a crash of the
 * process or its container only. The newest entries are also kept in memory (tail.ts), so a
 * drain that keeps up never reads back what was just written.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EntryKind, JournalEntry } from '../decode/types.js';
import { DIGEST_BYTES, messageDigest } from './message-digest.js';
import { RecentPackets, REDELIVERY_WINDOW } from './recent-packets.js';
import { DEFAULT_TAIL_LIMITS, Tail, type Measure, type TailLimits } from './tail.js';

export type JournalSync = 'normal' | 'full';

/** The journal's file in its directory (DATA_DIR, or DATA_DIR/slot-<n>). */
export const JOURNAL_FILE = 'journal.sqlite';

const CHECKPOINT_BYTES = 8 * 1024 * 1024;
const READ_CHUNK_ROWS = 64;

/** Per-entry bookkeeping that SQLite stores besides topic and payload (rowid, times, index). */
const ENTRY_OVERHEAD_BYTES = 64;

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** MQTT packet id (QoS 1), undefined for QoS 0. */
  packetId: number | undefined;
  /** MQTT DUP flag: the broker sent this packet before. */
  dup: boolean;
}

export interface Backlog {
  entries: number;
  bytes: number;
}

const SCHEMA = `
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
`;

/** An entry as selected, in column order (raw rows: cheaper than one object per row). */
type EntryRow = [seq: number, kind: EntryKind, receivedAt: number, topic: string, payload: Buffer, size: number];

type EntryValues = [seq: number, kind: EntryKind, receivedAt: number, topic: string, payload: Buffer, size: number, packetId: number | null, digest: Buffer | null];

/**
 * Copies of payloads for the in-memory tail, in one allocation: a payload may be a slice of a
 * whole network read, and copies from Node's shared pool would each keep an 8 KiB pool block
 * alive, so memory would follow the number of entries held, not their size.
 */
function copyTogether(payloads: Buffer[]): Buffer[] {
  const block = Buffer.allocUnsafeSlow(payloads.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  return payloads.map((payload) => {
    payload.copy(block, at);
    at += payload.length;
    return block.subarray(at - payload.length, at);
  });
}

export class JournalLockedError extends Error {
  constructor(file: string) {
    super(`the journal ${file} is locked by another process (another bridge with the same DATA_DIR?)`);
    this.name = 'JournalLockedError';
  }
}

export class Journal {
  readonly id: string;
  readonly file: string;
  private readonly db: Database.Database;
  private backlog: Backlog = { entries: 0, bytes: 0 };
  private readonly listeners: Array<() => void> = [];
  private readonly recent = new RecentPackets();
  private readonly tail: Tail;
  /** Sequence numbers only grow, even across restarts with an empty journal. */
  private lastSeq: number;
  /** Entries up to here are gone; every later one up to `lastSeq` is on disk. */
  private removedUpTo: number;

  private readonly insertEntry;
  private readonly selectAfter;
  private readonly measureUpTo;
  private readonly removeUpToTx;
  private readonly insertMany;
  private readonly oldest;

  constructor(dataDir: string, sync: JournalSync = 'full', tailLimits: TailLimits = DEFAULT_TAIL_LIMITS) {
    this.tail = new Tail(tailLimits);
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, JOURNAL_FILE);
    this.db = new Database(this.file, { timeout: 0 });
    try {
      // One connection, in one process: a second bridge on the same DATA_DIR fails at start,
      // and without shared-memory locking an append costs about half as much.
      this.db.pragma('locking_mode = EXCLUSIVE');
      // Under load a group of messages fills several pages and each costs a WAL write: 4 KiB
      // pages append and read about a third cheaper than 1 KiB ones (applies to new files only).
      this.db.pragma('page_size = 4096');
      this.db.pragma('journal_mode = WAL');
      // Checkpoints (which flush the WAL into the file, stalling appends meanwhile) every 8 MiB
      // rather than every 1 000 pages; an older journal may have another page size.
      const pageSize = Number(this.db.pragma('page_size', { simple: true }));
      this.db.pragma(`wal_autocheckpoint = ${Math.round(CHECKPOINT_BYTES / pageSize)}`);
      this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new JournalLockedError(this.file);
      }
      throw err;
    }
    this.id = this.meta('journal_id') ?? this.setMeta('journal_id', randomUUID());

    this.insertEntry = this.db.prepare<EntryValues>(
      'INSERT INTO entry (seq, kind, received_at, topic, payload, size, packet_id, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.measureUpTo = this.db.prepare<[number], { n: number; bytes: number }>(
      'SELECT count(*) AS n, coalesce(sum(length(CAST(topic AS BLOB)) + length(payload)), 0) AS bytes FROM entry WHERE seq <= ?',
    );
    this.selectAfter = this.db
      .prepare<[number, number], EntryRow>('SELECT seq, kind, received_at, topic, payload, size FROM entry WHERE seq > ? ORDER BY seq LIMIT ?')
      .raw();
    this.insertMany = this.db.transaction((rows: EntryValues[]) => {
      for (const row of rows) this.insertEntry.run(...row);
    });
    const keepPackets = this.db.prepare<[number]>(
      'INSERT OR REPLACE INTO recent_packet (packet_id, seq, digest) ' +
        'SELECT packet_id, seq, digest FROM entry WHERE seq <= ? AND packet_id IS NOT NULL ORDER BY seq',
    );
    const deleteUpTo = this.db.prepare<[number]>('DELETE FROM entry WHERE seq <= ?');
    const setRemoved = this.db.prepare<[string]>("INSERT OR REPLACE INTO meta (key, value) VALUES ('removed_up_to', ?)");
    this.removeUpToTx = this.db.transaction((seq: number) => {
      keepPackets.run(seq);
      deleteUpTo.run(seq);
      setRemoved.run(String(seq));
    });
    this.oldest = this.db.prepare<[], { received_at: number }>('SELECT received_at FROM entry ORDER BY seq LIMIT 1');

    const maxSeq = this.db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM entry').get()?.seq ?? 0;
    this.removedUpTo = Number(this.meta('removed_up_to') ?? 0);
    this.lastSeq = Math.max(maxSeq, this.removedUpTo);
    this.loadRecentPackets();
    const all = this.measureUpTo.get(Number.MAX_SAFE_INTEGER)!;
    this.backlog = { entries: all.n, bytes: all.bytes + all.n * ENTRY_OVERHEAD_BYTES };
  }

  /** The last sequence number given to an entry: entries appended from now on come after it. */
  get lastSequence(): number {
    return this.lastSeq;
  }

  /** A setting the bridge keeps with its journal (e.g. what its session is subscribed to). */
  setting(key: string): string | undefined {
    return this.meta(`setting:${key}`);
  }

  setSetting(key: string, value: string): void {
    this.setMeta(`setting:${key}`, value);
  }

  private meta(key: string): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
  }

  private setMeta(key: string, value: string): string {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
    return value;
  }

  /**
   * Only the last REDELIVERY_WINDOW entries matter, read one row at a time: a backlog of
   * millions of entries must not be loaded into memory at start.
   */
  private loadRecentPackets(): void {
    const rows = this.db
      .prepare<[number, number], { packet_id: number; seq: number; digest: Buffer }>(
        'SELECT packet_id, seq, digest FROM recent_packet WHERE seq > ? UNION ALL ' +
          'SELECT packet_id, seq, digest FROM entry WHERE seq > ? AND packet_id IS NOT NULL ORDER BY seq',
      )
      .iterate(this.lastSeq - REDELIVERY_WINDOW, this.lastSeq - REDELIVERY_WINDOW);
    for (const row of rows) {
      // A digest of another length was made by an older version (SHA-1): it cannot be compared,
      // so a redelivery of that one message would be stored again (at least once, at upgrade).
      if (row.digest.length === DIGEST_BYTES) this.recent.remember(row.packet_id, row.seq, row.digest);
    }
  }

  /**
   * Stores broker messages in one transaction (one write to disk for the group); payloads over
   * `maxPayloadBytes` keep only their beginning (the decoder reports them as too large).
   * Returns, per message, false for a redelivery already stored. Throws when the disk refuses
   * the write, and then nothing of the group is stored: the caller must not acknowledge.
   */
  appendMessages(msgs: IncomingMessage[], maxPayloadBytes: number): boolean[] {
    const stored = msgs.map(() => false);
    const rows: EntryValues[] = [];
    let seq = this.lastSeq;
    msgs.forEach((msg, i) => {
      const packetId = msg.packetId ?? null;
      const hash = packetId === null ? null : messageDigest(msg.topic, msg.payload);
      if (msg.dup && packetId !== null && this.recent.isRedelivery(packetId, hash!, this.lastSeq)) return;
      const payload = msg.payload.length > maxPayloadBytes ? msg.payload.subarray(0, maxPayloadBytes) : msg.payload;
      rows.push([++seq, 'message', msg.receivedAt, msg.topic, payload, msg.payload.length, packetId, hash]);
      stored[i] = true;
    });
    if (rows.length === 0) return stored;
    this.insertMany(rows);
    const copies = copyTogether(rows.map((row) => row[4]));
    rows.forEach((row, i) => this.added(row, copies[i]!));
    this.lastSeq = seq;
    this.appended();
    return stored;
  }

  /** Stores an event of the bridge itself (MQTT disconnect, DB outage) in the same order. */
  appendEvent(kind: Exclude<EntryKind, 'message'>, detail: string, at = Date.now()): void {
    const payload = Buffer.from(detail, 'utf8');
    const row: EntryValues = [this.lastSeq + 1, kind, at, '', payload, payload.length, null, null];
    this.insertEntry.run(...row);
    this.added(row, copyTogether([payload])[0]!);
    this.lastSeq = row[0];
    this.appended();
  }

  /** Only once the row is on disk does the in-memory state follow; `copy` is the payload's. */
  private added([seq, kind, receivedAt, topic, payload, size, packetId, hash]: EntryValues, copy: Buffer): void {
    if (packetId !== null && hash) this.recent.remember(packetId, seq, hash);
    const bytes = Buffer.byteLength(topic) + payload.length + ENTRY_OVERHEAD_BYTES;
    this.backlog.entries += 1;
    this.backlog.bytes += bytes;
    this.tail.push({ seq, kind, receivedAt, topic, payload: copy, size }, bytes);
  }

  private appended(): void {
    for (const listener of this.listeners) listener();
  }

  /** Called after every append; the drain uses it to wake up. */
  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Up to `limit` entries after `afterSeq`, in order, stopping once their payloads reach
   * `maxBytes` (always at least one entry): large payloads never make a batch of gigabytes.
   */
  read(afterSeq: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): JournalEntry[] {
    const from = Math.max(afterSeq, this.removedUpTo) + 1;
    if (from > this.lastSeq) return [];
    const inMemory = this.tail.firstSeq;
    if (inMemory !== undefined && inMemory <= from) return this.tail.read(from, limit, maxBytes);
    // A few rows at a time: one call per row costs more, all `limit` rows at once may be far
    // over `maxBytes`.
    const entries: JournalEntry[] = [];
    let bytes = 0;
    let after = afterSeq;
    while (entries.length < limit && (entries.length === 0 || bytes < maxBytes)) {
      const rows = this.selectAfter.all(after, Math.min(READ_CHUNK_ROWS, limit - entries.length));
      for (const [seq, kind, receivedAt, topic, payload, size] of rows) {
        entries.push({ seq, kind, receivedAt, topic, payload, size });
        bytes += payload.length;
        after = seq;
        if (bytes >= maxBytes) break;
      }
      if (rows.length < READ_CHUNK_ROWS) break;
    }
    return entries;
  }

  /** Forgets every entry up to `seq`: they are committed to MySQL. */
  removeUpTo(seq: number): void {
    if (seq <= this.removedUpTo) return;
    // The tail measures what goes when it holds every entry left; else SQLite does.
    const measured = this.tail.firstSeq === this.removedUpTo + 1 ? undefined : this.measureOnDisk(seq);
    this.removeUpToTx(seq);
    const gone = this.tail.dropUpTo(seq);
    this.removedUpTo = seq;
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.backlog.entries -= (measured ?? gone).entries;
    this.backlog.bytes -= (measured ?? gone).bytes;
  }

  private measureOnDisk(upToSeq: number): Measure {
    const { n, bytes } = this.measureUpTo.get(upToSeq)!;
    return { entries: n, bytes: bytes + n * ENTRY_OVERHEAD_BYTES };
  }

  backlogSize(): Backlog {
    return { ...this.backlog };
  }

  /** True when every entry is committed to MySQL. */
  isEmpty(): boolean {
    return this.backlog.entries === 0;
  }

  /** The backlog's bytes alone: read for every message, without a copy. */
  get backlogBytes(): number {
    return this.backlog.bytes;
  }

  /** True for a failure of the journal itself (disk full, I/O error), not of its caller. */
  isOwnFailure(err: unknown): boolean {
    return err instanceof Database.SqliteError;
  }

  /** Receipt time of the oldest entry not yet committed, or undefined when empty. */
  oldestReceivedAt(): number | undefined {
    return this.oldest.get()?.received_at;
  }

  close(): void {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
