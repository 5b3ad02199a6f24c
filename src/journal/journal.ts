/**
 * The local durable journal: every message is appended here, synchronously, before the broker
 * gets its PUBACK; the drain writes entries to MySQL and removes them once committed.
 *
 * SQLite in WAL mode (better-sqlite3): an append is one small transaction of ~50 µs, and the
 * file survives the process being killed at any instant. `synchronous=NORMAL` survives process
 * and container crashes; `FULL` also survives a power cut of the host, at about a quarter of the
 * speed (see README, "Delivery guarantee").
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EntryKind, JournalEntry } from '../decode/types.js';

export type JournalSync = 'normal' | 'full';

/** Per-entry bookkeeping that SQLite stores besides topic and payload (rowid, times, index). */
const ENTRY_OVERHEAD_BYTES = 48;

/**
 * How far back a redelivered packet id is matched. Mosquitto allocates packet ids per client
 * by incrementing them, so an id is reused only after ~65 535 later messages; within this
 * window a DUP message with the same id and content is the one already stored.
 */
const REDELIVERY_WINDOW = 60_000;

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

interface EntryRow {
  seq: number;
  kind: EntryKind;
  received_at: number;
  topic: string;
  payload: Buffer;
  size: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS entry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS recent_packet (
    packet_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    digest BLOB NOT NULL
  );
`;

function digest(topic: string, payload: Buffer): Buffer {
  return createHash('sha1').update(topic).update('\0').update(payload).digest();
}

export class Journal {
  readonly id: string;
  readonly file: string;
  private readonly db: Database.Database;
  private backlog: Backlog = { entries: 0, bytes: 0 };
  private listeners: Array<() => void> = [];

  private readonly insertEntry;
  private readonly lastSeq;
  private readonly findPacket;
  private readonly rememberPacket;
  private readonly selectAfter;
  private readonly measureUpTo;
  private readonly deleteUpTo;
  private readonly oldest;
  private readonly appendMessageTx;

  constructor(dataDir: string, sync: JournalSync = 'normal') {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, 'journal.sqlite');
    this.db = new Database(this.file, { timeout: 0 });
    try {
      // One process owns a journal: a second bridge on the same DATA_DIR fails at start.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new Error(`the journal ${this.file} is locked by another process (another bridge with the same DATA_DIR?)`);
      }
      throw err;
    }
    this.id = this.journalId();

    this.insertEntry = this.db.prepare<[EntryKind, number, string, Buffer, number]>(
      'INSERT INTO entry (kind, received_at, topic, payload, size) VALUES (?, ?, ?, ?, ?)',
    );
    this.lastSeq = this.db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'entry'");
    this.findPacket = this.db.prepare<[number], { seq: number; digest: Buffer }>('SELECT seq, digest FROM recent_packet WHERE packet_id = ?');
    this.rememberPacket = this.db.prepare<[number, number, Buffer]>(
      'INSERT INTO recent_packet (packet_id, seq, digest) VALUES (?, ?, ?) ' +
        'ON CONFLICT (packet_id) DO UPDATE SET seq = excluded.seq, digest = excluded.digest',
    );
    this.selectAfter = this.db.prepare<[number, number], EntryRow>(
      'SELECT seq, kind, received_at, topic, payload, size FROM entry WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.measureUpTo = this.db.prepare<[number], { n: number; bytes: number }>(
      'SELECT count(*) AS n, coalesce(sum(length(topic) + length(payload)), 0) AS bytes FROM entry WHERE seq <= ?',
    );
    this.deleteUpTo = this.db.prepare<[number]>('DELETE FROM entry WHERE seq <= ?');
    this.oldest = this.db.prepare<[], { received_at: number }>('SELECT received_at FROM entry ORDER BY seq LIMIT 1');
    this.appendMessageTx = this.db.transaction((msg: IncomingMessage, stored: Buffer, size: number): boolean => {
      const hash = msg.packetId === undefined ? undefined : digest(msg.topic, msg.payload);
      if (msg.dup && msg.packetId !== undefined && hash !== undefined) {
        const seen = this.findPacket.get(msg.packetId);
        const current = this.lastSeq.get()?.seq ?? 0;
        if (seen && seen.digest.equals(hash) && current - seen.seq < REDELIVERY_WINDOW) return false;
      }
      const seq = Number(this.insertEntry.run('message', msg.receivedAt, msg.topic, stored, size).lastInsertRowid);
      if (msg.packetId !== undefined && hash !== undefined) this.rememberPacket.run(msg.packetId, seq, hash);
      return true;
    });

    const all = this.measureUpTo.get(Number.MAX_SAFE_INTEGER)!;
    this.backlog = { entries: all.n, bytes: all.bytes + all.n * ENTRY_OVERHEAD_BYTES };
  }

  private journalId(): string {
    const row = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'journal_id'").get();
    if (row) return row.value;
    const id = randomUUID();
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('journal_id', ?)").run(id);
    return id;
  }

  /**
   * Stores a broker message; payloads over `maxPayloadBytes` keep only their beginning (the
   * decoder reports them as too large). Returns false for a redelivery already stored.
   * Throws when the disk refuses the write: the caller must then not acknowledge.
   */
  appendMessage(msg: IncomingMessage, maxPayloadBytes: number): boolean {
    const size = msg.payload.length;
    const stored = size > maxPayloadBytes ? msg.payload.subarray(0, maxPayloadBytes) : msg.payload;
    const added = this.appendMessageTx(msg, stored, size);
    if (added) this.grew(msg.topic, stored);
    return added;
  }

  /** Stores an event of the bridge itself (MQTT disconnect, DB outage) in the same order. */
  appendEvent(kind: Exclude<EntryKind, 'message'>, detail: string, at = Date.now()): void {
    const payload = Buffer.from(detail, 'utf8');
    this.insertEntry.run(kind, at, '', payload, payload.length);
    this.grew('', payload);
  }

  private grew(topic: string, payload: Buffer): void {
    this.backlog.entries += 1;
    this.backlog.bytes += Buffer.byteLength(topic) + payload.length + ENTRY_OVERHEAD_BYTES;
    for (const listener of this.listeners) listener();
  }

  /** Called after every append; the drain uses it to wake up. */
  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  read(afterSeq: number, limit: number): JournalEntry[] {
    return this.selectAfter.all(afterSeq, limit).map((row) => ({
      seq: row.seq,
      kind: row.kind,
      receivedAt: row.received_at,
      topic: row.topic,
      payload: row.payload,
      size: row.size,
    }));
  }

  /** Forgets every entry up to `seq`: they are committed to MySQL. */
  removeUpTo(seq: number): void {
    const gone = this.measureUpTo.get(seq)!;
    if (gone.n === 0) return;
    this.deleteUpTo.run(seq);
    this.backlog.entries -= gone.n;
    this.backlog.bytes -= gone.bytes + gone.n * ENTRY_OVERHEAD_BYTES;
  }

  backlogSize(): Backlog {
    return { ...this.backlog };
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
