/**
 * The local durable journal: every message is appended here before the broker gets its
 * PUBACK; the drain writes entries to MySQL and marks them committed.
 *
 * Committed entries are kept for a while (retention: JOURNAL_RETAIN, JOURNAL_RETAIN_BYTES) so
 * that a database that goes back in time (restored from a dump, failed over to a replica that
 * lagged) can be written again from where it went back to (pipeline/recovery.ts). They are
 * removed in bulk now and then, oldest first, never one delete per append; an entry not yet
 * committed is never removed. The sequence is contiguous: every entry from `removedUpTo + 1`
 * to `lastSequence` is on disk, those up to `committedUpTo` committed.
 *
 * SQLite in WAL mode (better-sqlite3), one connection in exclusive mode. The messages that
 * arrive together are appended in one transaction (see mqtt/source.ts), so even with
 * `synchronous=FULL` (the default: one fsync per group, safe against a power cut of the host)
 * appending costs a few µs per message. `NORMAL` skips the fsync and survives a crash of the
 * process or its container only. The newest entries are also kept in memory (tail.ts), so a
 * drain that keeps up never reads back what was just written.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EntryKind, JournalEntry } from '../decode/types.js';
import { monotonicMs } from '../time.js';
import { prepareFormat, refuseNewerFormat } from './journal-format.js';
import { DIGEST_BYTES, messageDigest } from './message-digest.js';
import { RecentPackets, REDELIVERY_WINDOW, type PacketMemory, type StoredPacket } from './recent-packets.js';
import { DEFAULT_TAIL_LIMITS, Tail, type Measure, type TailLimits } from './tail.js';

export type JournalSync = 'normal' | 'full';

/** The journal setting that names the client id of its position row (older-journals.ts). */
export const POSITION_CLIENT_ID = 'position_client_id';

/** The journal's file in its directory (DATA_DIR, or DATA_DIR/slot-<n>). */
export const JOURNAL_FILE = 'journal.sqlite';

const CHECKPOINT_BYTES = 8 * 1024 * 1024;
const READ_CHUNK_ROWS = 64;
/** Retention removes in bulk at most this often (and at least this often for short windows). */
const MAX_PRUNE_INTERVAL_MS = 60_000;
const MIN_PRUNE_INTERVAL_MS = 1_000;
/** Removals whose receipt times are kept (one a minute at most: about a month). */
const REMOVED_SPANS_KEPT = 50_000;

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

/** How long and how much of what is committed the journal keeps (0 and 0: nothing). */
export interface Retention {
  retainMs: number;
  retainBytes: number;
  /**
   * Disk room kept free for entries not yet committed (JOURNAL_MAX_BYTES): retained entries
   * give way to them when the disk fills.
   */
  reserveBytes: number;
}

export const NO_RETENTION: Retention = { retainMs: 0, retainBytes: 0, reserveBytes: 0 };

/** The committed entries the journal still holds, from `fromSeq` to `toSeq`. */
export interface RetainedWindow extends Backlog {
  fromSeq: number;
  toSeq: number;
  /** Receipt time of the oldest retained entry; undefined when none is retained. */
  oldestReceivedAt: number | undefined;
  /** Receipt time of the newest entry retention removed; undefined when none was. */
  removedReceivedAt: number | undefined;
}

export interface JournalOptions {
  tailLimits?: TailLimits;
  /** Without one (doctor, a look at a journal), nothing is ever removed. */
  retention?: Retention;
  /**
   * The memory of recent packet ids when several journals share one MQTT connection (school
   * mode): then filled by its owner at start (ConnectionPackets.load), not by the journal.
   */
  packets?: PacketMemory;
  /** SQLite's page cache, in KiB (better-sqlite3's default is 16 000): smaller when many journals run. */
  cacheKiB?: number;
  /** WAL size that triggers a checkpoint (8 MiB by default). */
  checkpointBytes?: number;
}

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

/**
 * The receipt time of removed entries' packets, which a memory shared by several journals needs
 * to order them (newestPackets). A nullable column that earlier versions neither read nor fill:
 * no new format.
 */
function addPacketReceiptTime(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('recent_packet')").all();
  if (!columns.some((c) => c.name === 'received_at')) db.exec('ALTER TABLE recent_packet ADD COLUMN received_at INTEGER');
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
  /** The format the file had when opened (journal-format.ts), before any migration. */
  readonly openedFormat: number;
  private readonly db: Database.Database;
  /** Entries not yet committed. */
  private backlog: Backlog = { entries: 0, bytes: 0 };
  /** Entries committed and still kept (retention). */
  private retained: Backlog = { entries: 0, bytes: 0 };
  private readonly listeners: Array<() => void> = [];
  private recent: PacketMemory;
  /** False when the packet memory is shared with other journals (JournalOptions.packets). */
  private readonly ownPackets: boolean;
  private tail: Tail;
  private readonly tailLimits: TailLimits;
  /** Undefined: committed entries are kept until a journal with a policy opens the file. */
  private readonly retention: Retention | undefined;
  /** Sequence numbers only grow, even across restarts with an empty journal. */
  private lastSeq: number;
  /** Entries up to here are committed to MySQL; the later ones wait. */
  private committed: number;
  /** Entries up to here are gone; every later one up to `lastSeq` is on disk. */
  private removedUpTo: number;
  /** When retention last ran (monotonic); it runs at open. */
  private prunedAt = Number.NEGATIVE_INFINITY;
  /** See earlierRunsUpTo. */
  private earlierUpTo: number;
  /**
   * Set (and kept on disk) while entries are appended before any drain compared the journal
   * with the database: the last sequence before them. A process that dies before comparing
   * leaves it for the next, which must not take those entries for ones the database may hold.
   */
  private unverifiedAfter: number | undefined;
  private reconciledThisRun = false;
  /** See positionSinceMs. */
  private sinceMs: number | undefined;

  private readonly insertEntry;
  private readonly selectAfter;
  private readonly measureRange;
  private readonly removeUpToTx;
  private readonly setCommitted: (seq: number) => void;
  private readonly insertGroup;
  private readonly firstAfter;
  private readonly firstRecentAfter;
  private readonly receivedAtOf;
  private readonly receivedByStmt;
  private readonly removedSpanOf;

  constructor(dataDir: string, sync: JournalSync = 'full', options: JournalOptions = {}) {
    this.tailLimits = options.tailLimits ?? DEFAULT_TAIL_LIMITS;
    this.retention = options.retention;
    this.ownPackets = options.packets === undefined;
    this.recent = options.packets ?? new RecentPackets();
    this.tail = new Tail(this.tailLimits);
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, JOURNAL_FILE);
    refuseNewerFormat(this.file);
    this.db = new Database(this.file, { timeout: 0 });
    let format: number;
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
      this.db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.round((options.checkpointBytes ?? CHECKPOINT_BYTES) / pageSize))}`);
      if (options.cacheKiB !== undefined) this.db.pragma(`cache_size = -${Math.max(64, Math.round(options.cacheKiB))}`);
      this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
      format = prepareFormat(this.db, this.file);
      addPacketReceiptTime(this.db);
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new JournalLockedError(this.file);
      }
      throw err;
    }
    this.openedFormat = format;
    this.id = this.meta('journal_id') ?? this.setMeta('journal_id', randomUUID());

    this.insertEntry = this.db.prepare<EntryValues>(
      'INSERT INTO entry (seq, kind, received_at, topic, payload, size, packet_id, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.measureRange = this.db.prepare<[number, number], { n: number; bytes: number }>(
      'SELECT count(*) AS n, coalesce(sum(length(CAST(topic AS BLOB)) + length(payload)), 0) AS bytes FROM entry WHERE seq > ? AND seq <= ?',
    );
    this.selectAfter = this.db
      .prepare<[number, number], EntryRow>('SELECT seq, kind, received_at, topic, payload, size FROM entry WHERE seq > ? ORDER BY seq LIMIT ?')
      .raw();
    const setMeta = this.db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.insertGroup = this.db.transaction((rows: EntryValues[], unverifiedAfter: number | undefined) => {
      if (unverifiedAfter !== undefined) setMeta.run('unverified_after', String(unverifiedAfter));
      for (const row of rows) this.insertEntry.run(...row);
    });
    // Only the last REDELIVERY_WINDOW entries' packet ids can matter (recent-packets.ts).
    const keepPackets = this.db.prepare<[number, number]>(
      'INSERT OR REPLACE INTO recent_packet (packet_id, seq, digest, received_at) ' +
        'SELECT packet_id, seq, digest, received_at FROM entry WHERE seq > ? AND seq <= ? AND packet_id IS NOT NULL ORDER BY seq',
    );
    const deleteUpTo = this.db.prepare<[number]>('DELETE FROM entry WHERE seq <= ?');
    const span = this.db.prepare<[number, number], { first: number | null; last: number | null }>(
      'SELECT min(received_at) AS first, max(received_at) AS last FROM entry WHERE seq > ? AND seq <= ?',
    );
    const recordSpan = this.db.prepare<[number, number, number]>('INSERT OR REPLACE INTO removed_range (up_to_seq, first_received_at, last_received_at) VALUES (?, ?, ?)');
    const forgetOldSpans = this.db.prepare<[number]>(
      'DELETE FROM removed_range WHERE up_to_seq < (SELECT up_to_seq FROM removed_range ORDER BY up_to_seq DESC LIMIT 1 OFFSET ?)',
    );
    this.removeUpToTx = this.db.transaction((seq: number) => {
      const { first, last } = span.get(this.removedUpTo, seq)!;
      if (first !== null && last !== null) {
        recordSpan.run(seq, first, last);
        forgetOldSpans.run(REMOVED_SPANS_KEPT);
        setMeta.run('removed_received_at', String(last));
      }
      keepPackets.run(seq - REDELIVERY_WINDOW, seq);
      deleteUpTo.run(seq);
      setMeta.run('removed_up_to', String(seq));
    });
    this.receivedByStmt = this.db.prepare<[number, number, number], { seq: number | null }>(
      'SELECT max(seq) AS seq FROM entry WHERE seq > ? AND seq <= ? AND received_at <= ?',
    );
    this.removedSpanOf = this.db.prepare<[number], { first: number }>('SELECT first_received_at AS first FROM removed_range WHERE up_to_seq >= ? ORDER BY up_to_seq LIMIT 1');
    this.setCommitted = (seq: number) => setMeta.run('committed_up_to', String(seq));
    this.firstAfter = this.db.prepare<[number], { seq: number; received_at: number }>('SELECT seq, received_at FROM entry WHERE seq > ? ORDER BY seq LIMIT 1');
    this.firstRecentAfter = this.db.prepare<[number, number, number], { seq: number }>(
      'SELECT seq FROM entry WHERE seq > ? AND seq <= ? AND received_at >= ? ORDER BY seq LIMIT 1',
    );
    this.receivedAtOf = this.db.prepare<[number], { received_at: number }>('SELECT received_at FROM entry WHERE seq = ?');

    const maxSeq = this.db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM entry').get()?.seq ?? 0;
    this.removedUpTo = Number(this.meta('removed_up_to') ?? 0);
    this.lastSeq = Math.max(maxSeq, this.removedUpTo);
    this.committed = Math.min(this.lastSeq, Math.max(this.removedUpTo, Number(this.meta('committed_up_to') ?? 0)));
    const since = this.meta('position_since_ms');
    this.sinceMs = since === undefined ? undefined : Number(since);
    const unverified = this.meta('unverified_after');
    this.unverifiedAfter = unverified === undefined ? undefined : Number(unverified);
    this.earlierUpTo = Math.min(this.lastSeq, this.unverifiedAfter ?? this.lastSeq);
    if (this.ownPackets) this.loadRecentPackets();
    this.measureAll();
    this.pruneIfDue();
  }

  /** Backlog and retained window, measured on disk (at open, and after a renumbering). */
  private measureAll(): void {
    this.retained = this.measureOnDisk(this.removedUpTo, this.committed);
    this.backlog = this.measureOnDisk(this.committed, Number.MAX_SAFE_INTEGER);
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
   * The messages stored with a packet id, newest first, for a memory shared by several journals
   * (ConnectionPackets.load), which reads only as many as it keeps. Packets of removed entries
   * recorded by a version that did not keep their receipt time count as received when the last
   * removed entry was.
   */
  *newestPackets(): Generator<StoredPacket> {
    const rows = (sql: string) => this.db.prepare<[], { packetId: number; receivedAt: number | null; digest: Buffer }>(sql).iterate();
    const removedAt = Number(this.meta('removed_received_at') ?? 0);
    for (const source of [
      'SELECT packet_id AS packetId, received_at AS receivedAt, digest FROM entry WHERE packet_id IS NOT NULL ORDER BY seq DESC',
      'SELECT packet_id AS packetId, received_at AS receivedAt, digest FROM recent_packet ORDER BY seq DESC',
    ]) {
      for (const row of rows(source)) {
        if (row.digest.length === DIGEST_BYTES) yield { packetId: row.packetId, receivedAt: row.receivedAt ?? removedAt, digest: row.digest };
      }
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
    this.insertAppended(rows);
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
    this.insertAppended([row]);
    this.added(row, copyTogether([payload])[0]!);
    this.lastSeq = row[0];
    this.appended();
  }

  /** Writes appended rows (with the unverified mark the first time it applies). */
  private insertAppended(rows: EntryValues[]): void {
    const mark = this.unverifiedMark();
    this.makingRoom(() => this.insertGroup(rows, mark));
    // Only once on disk: a failed first append must leave the mark to the next one.
    if (mark !== undefined) this.unverifiedAfter = mark;
  }

  /**
   * Runs an append; when the disk is full, the retained entries give way (all of them: the
   * disk is full now) and the append is tried once more. An entry waiting is never removed.
   */
  private makingRoom(append: () => void): void {
    try {
      append();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_FULL' || this.committed <= this.removedUpTo) throw err;
      try {
        this.removeCommittedUpTo(this.committed);
      } catch {
        throw err;
      }
      append();
    }
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

  /** Entries up to here are committed to MySQL (those after `removedUpTo` are still kept). */
  get committedUpTo(): number {
    return this.committed;
  }

  /**
   * Entries up to here are gone from disk: a database that went back before it cannot be
   * written again from this journal.
   */
  get removedUpToSeq(): number {
    return this.removedUpTo;
  }

  /**
   * The highest sequence a database may hold from an earlier run: what was on disk at open,
   * but for entries appended by a process that never compared the journal with the database.
   * A database past it holds entries this file lost (journal-behind, pipeline/recovery.ts).
   */
  get earlierRunsUpTo(): number {
    return this.earlierUpTo;
  }

  /** A drain compared the journal with the database: what is appended from now on is ordinary. */
  markReconciled(): void {
    this.reconciledThisRun = true;
    this.earlierUpTo = this.lastSeq;
    if (this.unverifiedAfter === undefined) return;
    this.durably(() => this.db.prepare("DELETE FROM meta WHERE key = 'unverified_after'").run());
    this.unverifiedAfter = undefined;
  }

  /**
   * Runs a write that must be on disk before the database is written again, whatever
   * JOURNAL_SYNC says: a renumbering or a comparison lost in a power cut would make the next
   * start misread what the database holds.
   */
  private durably(write: () => void): void {
    const sync = this.db.pragma('synchronous', { simple: true });
    this.db.pragma('synchronous = FULL');
    try {
      write();
    } finally {
      this.db.pragma(`synchronous = ${Number(sync)}`);
    }
  }

  /** The last sequence before the first entry appended ahead of any comparison, if this one is. */
  private unverifiedMark(): number | undefined {
    return this.reconciledThisRun || this.unverifiedAfter !== undefined ? undefined : this.lastSeq;
  }

  /** The last entry in (afterSeq, upToSeq] received at or before `atMs` (pipeline/recovery.ts). */
  lastReceivedBy(atMs: number, afterSeq: number, upToSeq: number): number | undefined {
    return this.receivedByStmt.get(afterSeq, upToSeq, atMs)?.seq ?? undefined;
  }

  /** When the journal first committed under its current client id; undefined before that. */
  get positionSinceMs(): number | undefined {
    return this.sinceMs;
  }

  /** Receipt time of an entry, or for one retention removed, of the first of its removal. */
  receivedAtOrBefore(seq: number): number | undefined {
    return this.receivedAtOf.get(seq)?.received_at ?? this.removedSpanOf.get(seq)?.first;
  }

  /** Where the position row of the journal's current client id starts (see setPositionClientId). */
  get positionBase(): number {
    return Number(this.meta('position_base') ?? 0);
  }

  /**
   * The client id whose position row guards this journal's commits. When it changes (a
   * handover, older-journals.ts), what was committed so far was recorded under the old id: the
   * new id's row starts here, and no refill under the new id goes back before it.
   */
  setPositionClientId(clientId: string): void {
    if (this.setting(POSITION_CLIENT_ID) === clientId) return;
    this.db.transaction(() => {
      this.setSetting(POSITION_CLIENT_ID, clientId);
      this.setMeta('position_base', String(this.committed));
      this.db.prepare("DELETE FROM meta WHERE key = 'position_since_ms'").run();
    })();
    this.sinceMs = undefined;
  }

  /**
   * Entries up to `seq` are committed to MySQL: they stay for the retention window, and are
   * removed in bulk now and then (in the same write as this mark, so one disk write per batch).
   */
  markCommitted(seq: number): void {
    if (seq <= this.committed) return;
    if (seq > this.lastSeq) throw new Error(`cannot mark entry ${seq} committed: the journal ends at ${this.lastSeq}`);
    // The tail measures what it holds when it holds every entry waiting; else SQLite does.
    const moved = this.tail.firstSeq === this.committed + 1 ? this.tail.measureUpTo(seq) : this.measureOnDisk(this.committed, seq);
    const before = { committed: this.committed, backlog: { ...this.backlog }, retained: { ...this.retained }, removedUpTo: this.removedUpTo };
    try {
      this.db.transaction(() => {
        this.setCommitted(seq);
        if (this.sinceMs === undefined) this.setMeta('position_since_ms', String((this.sinceMs = Date.now())));
        this.committed = seq;
        this.backlog = { entries: this.backlog.entries - moved.entries, bytes: this.backlog.bytes - moved.bytes };
        this.retained = { entries: this.retained.entries + moved.entries, bytes: this.retained.bytes + moved.bytes };
        if (this.pruneDue()) this.removeExpired();
      })();
    } catch (err) {
      // Nothing was written: the memory goes back to what the file says.
      this.committed = before.committed;
      this.backlog = before.backlog;
      this.retained = before.retained;
      this.removedUpTo = before.removedUpTo;
      throw err;
    }
    this.tail.dropUpTo(seq);
  }

  /**
   * The database holds entries only up to `seq` again (restored from a dump, failed over):
   * those after it are waiting once more, and the drain writes them again from there.
   */
  rewindTo(seq: number): void {
    if (seq >= this.committed) return;
    if (seq < this.removedUpTo) throw new Error(`cannot go back to entry ${seq}: the journal only keeps entries after ${this.removedUpTo}`);
    const back = this.measureOnDisk(seq, this.committed);
    this.setCommitted(seq);
    this.committed = seq;
    this.retained.entries -= back.entries;
    this.retained.bytes -= back.bytes;
    this.backlog.entries += back.entries;
    this.backlog.bytes += back.bytes;
  }

  /**
   * The journal is older than the database (restored from a snapshot, or a disk that lost its
   * last writes): the database holds this journal's entries up to `dbSeq`, past what the file
   * held from earlier runs (`inDatabaseUpTo`). Those are in the database; the entries after
   * them were appended since and are numbered again to follow `dbSeq`, in one transaction.
   * Returns how many were numbered again.
   */
  skipAhead(dbSeq: number, inDatabaseUpTo: number): number {
    if (dbSeq <= inDatabaseUpTo) throw new Error(`skipAhead(${dbSeq}, ${inDatabaseUpTo}): nothing to skip`);
    const delta = dbSeq - inDatabaseUpTo;
    const renumbered = Math.max(0, this.lastSeq - inDatabaseUpTo);
    const renumber = this.db.transaction(() => {
      this.removeUpToTx(inDatabaseUpTo);
      // Two steps: shifting in place would collide with rows not yet moved.
      this.db.prepare('UPDATE entry SET seq = -seq WHERE seq > ?').run(inDatabaseUpTo);
      this.db.prepare('UPDATE entry SET seq = ? - seq WHERE seq < 0').run(delta);
      this.setMeta('removed_up_to', String(dbSeq));
      this.setCommitted(dbSeq);
    });
    this.durably(() => renumber());
    this.lastSeq += delta;
    this.removedUpTo = dbSeq;
    this.committed = dbSeq;
    this.markReconciled();
    this.tail = new Tail(this.tailLimits);
    // A shared memory knows no sequence numbers: nothing in it changed.
    if (this.ownPackets) {
      this.recent = new RecentPackets();
      this.loadRecentPackets();
    }
    this.measureAll();
    return renumbered;
  }

  /** Applies the retention policy now if it is due (an idle drain calls it now and then). */
  pruneIfDue(): void {
    if (this.pruneDue()) this.db.transaction(() => this.removeExpired())();
  }

  private pruneInterval(): number {
    const retention = this.retention!;
    if (retention.retainMs === 0) return 0;
    return Math.min(MAX_PRUNE_INTERVAL_MS, Math.max(MIN_PRUNE_INTERVAL_MS, retention.retainMs / 10));
  }

  private pruneDue(): boolean {
    return this.retention !== undefined && this.committed > this.removedUpTo && monotonicMs() - this.prunedAt >= this.pruneInterval();
  }

  /**
   * Removes the committed entries the policy no longer keeps, oldest first: those received
   * before the window, then as many as it takes to fit the byte bound and leave the disk room
   * the waiting entries may need. Runs inside the caller's transaction.
   */
  private removeExpired(): void {
    const retention = this.retention!;
    this.prunedAt = monotonicMs();
    const young = retention.retainMs === 0 ? undefined : this.firstRecentAfter.get(this.removedUpTo, this.committed, Date.now() - retention.retainMs);
    let upTo = young ? young.seq - 1 : this.committed;
    let keptBytes = this.retained.bytes - (upTo > this.removedUpTo ? this.measureOnDisk(this.removedUpTo, upTo).bytes : 0);
    const allowed = Math.min(retention.retainBytes, this.retentionDiskAllowance(keptBytes));
    if (keptBytes > allowed) {
      const rows = this.db
        .prepare<[number, number], { seq: number; bytes: number }>('SELECT seq, length(CAST(topic AS BLOB)) + length(payload) AS bytes FROM entry WHERE seq > ? AND seq <= ? ORDER BY seq')
        .iterate(upTo, this.committed);
      for (const row of rows) {
        if (keptBytes <= allowed) break;
        keptBytes -= row.bytes + ENTRY_OVERHEAD_BYTES;
        upTo = row.seq;
      }
    }
    if (upTo > this.removedUpTo) this.removeCommittedUpTo(upTo);
  }

  /**
   * The retained bytes the disk allows: entries waiting may grow to the reserve
   * (JOURNAL_MAX_BYTES), and what the retained ones hold is room they would get back.
   */
  private retentionDiskAllowance(keptBytes: number): number {
    const reserve = this.retention!.reserveBytes - this.backlog.bytes;
    if (reserve <= 0) return Number.POSITIVE_INFINITY;
    try {
      const fs = statfsSync(this.file);
      const pageSize = Number(this.db.pragma('page_size', { simple: true }));
      const free = fs.bavail * fs.bsize + Number(this.db.pragma('freelist_count', { simple: true })) * pageSize;
      return free >= reserve ? Number.POSITIVE_INFINITY : Math.max(0, keptBytes - (reserve - free));
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  /** Removes committed entries up to `seq` (inside a transaction or not). */
  private removeCommittedUpTo(seq: number): void {
    const gone = this.measureOnDisk(this.removedUpTo, seq);
    this.removeUpToTx(seq);
    this.removedUpTo = seq;
    this.retained.entries -= gone.entries;
    this.retained.bytes -= gone.bytes;
  }

  /** What retention keeps: the committed entries still on disk. */
  retainedWindow(): RetainedWindow {
    const removedAt = this.meta('removed_received_at');
    return {
      ...this.retained,
      fromSeq: this.removedUpTo + 1,
      toSeq: this.committed,
      oldestReceivedAt: this.retained.entries > 0 ? this.firstAfter.get(this.removedUpTo)?.received_at : undefined,
      removedReceivedAt: removedAt === undefined ? undefined : Number(removedAt),
    };
  }

  private measureOnDisk(afterSeq: number, upToSeq: number): Measure {
    const { n, bytes } = this.measureRange.get(afterSeq, upToSeq)!;
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
    return this.firstAfter.get(this.committed)?.received_at;
  }

  close(): void {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
