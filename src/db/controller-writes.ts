/**
 * Controller events and controller errors inside a batch's transaction.
 *
 * One bridge: its journal holds the events in the order the broker delivered them and the
 * batches are written in that order, so each event is simply applied (no clock involved).
 *
 * A shared group (MQTT_SHARED_GROUP): every instance receives every controller message and
 * writes it. Per controller, `bridge_controleur_event` keeps which journal wrote the last
 * event and its sequence: an event of that same journal applies when it comes later in it (the
 * broker's order, whatever the wall clock does); an event of another instance applies when it
 * was received no earlier (receipt times of different hosts are the only common order), and a
 * stamp more than a minute ahead of the database's clock is not trusted, so one event from a
 * wrong clock cannot freeze a controller.
 *
 * Deadlocks: rows are locked with an upsert first (never a locking read of a missing key, which
 * takes gap locks that two inserts then wait on), in sorted key order, controllers before error
 * claims, so that two instances always lock in the same order. Once locked, they are read with a
 * locking read too: a plain read would see the transaction's snapshot, older than the lock.
 */
import { createHash } from 'node:crypto';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { ControllerEvent, ErrorRow } from '../decode/types.js';
import type { Connection } from './pool.js';

export type Query = <T = unknown>(conn: Connection, sql: string, values?: unknown[]) => Promise<T>;

const ER_DUP_ENTRY = 1062;
/** Instances receive one broker message within milliseconds of each other. */
const SAME_CONTROLLER_ERROR_WINDOW_MS = 10_000;
/** A stored receipt time further ahead of the database's clock than this is not trusted. */
const FUTURE_TOLERANCE_MS = 60_000;
/** Sentinel of a row just created by the locking upsert: older than any event. */
const NO_EVENT = -1;

export function controllerTopic(event: ControllerEvent): string {
  return event.kind === 'connect' ? `controleur/${event.mac}` : `controleur/${event.mac}/disconnect`;
}

export const isControllerError = (e: ErrorRow) => e.topic.startsWith('controleur/');

/**
 * Applies one event to `controleur`. A known controller is updated, not upserted: on a web-app
 * schema with a NOT NULL column the bridge does not fill, an upsert fails even for an existing
 * row, while only the first announcement of a new controller needs that column.
 */
export async function applyController(conn: Connection, event: ControllerEvent, query: Query): Promise<void> {
  if (event.kind === 'disconnect') {
    await query(conn, 'UPDATE controleur SET status = FALSE WHERE id_controleur = ?', [event.mac]);
    return;
  }
  const update = () => query<ResultSetHeader>(conn, 'UPDATE controleur SET ip = ?, status = ? WHERE id_controleur = ?', [event.ip, event.status, event.mac]);
  // affectedRows counts matched rows (mysql2 connects with FOUND_ROWS), changed or not.
  if ((await update()).affectedRows > 0) return;
  try {
    await query(conn, 'INSERT INTO controleur (id_controleur, ip, status) VALUES (?, ?, ?)', [event.mac, event.ip, event.status]);
  } catch (err) {
    // The web app added it in between: it is known now.
    if ((err as { errno?: unknown }).errno !== ER_DUP_ENTRY) throw err;
    await update();
  }
}

interface LastEvent {
  at: number;
  journalId: string | null;
  seq: number | null;
  fromFuture: boolean;
}

/** The order of a shared group's controller events (see the file comment). */
export class ControllerOrder {
  private constructor(
    private readonly journalId: string,
    private readonly last: Map<string, LastEvent>,
  ) {}

  /** Locks and reads the rows of every controller of the batch, in sorted order. */
  static async lock(conn: Connection, journalId: string, events: ControllerEvent[], query: Query): Promise<ControllerOrder> {
    const macs = [...new Set(events.map((e) => e.mac))].sort();
    for (const mac of macs) {
      await query(
        conn,
        'INSERT INTO bridge_controleur_event (id_controleur, last_event_ms) VALUES (?, ?) ' +
          'ON DUPLICATE KEY UPDATE id_controleur = id_controleur',
        [mac, NO_EVENT],
      );
    }
    const last = new Map<string, LastEvent>();
    if (macs.length > 0) {
      const rows = await query<RowDataPacket[]>(
        conn,
        'SELECT id_controleur AS mac, last_event_ms AS at, journal_id AS journalId, last_seq AS seq, ' +
          'last_event_ms > UNIX_TIMESTAMP(NOW(3)) * 1000 + ? AS fromFuture ' +
          // A locking read: it sees what the other instances committed, not the transaction's
          // snapshot (taken earlier, at the position check).
          'FROM bridge_controleur_event WHERE id_controleur IN (?) FOR UPDATE',
        [FUTURE_TOLERANCE_MS, macs],
      );
      for (const r of rows) {
        last.set(String(r.mac), {
          at: Number(r.at),
          journalId: r.journalId === null ? null : String(r.journalId),
          seq: r.seq === null ? null : Number(r.seq),
          fromFuture: Number(r.fromFuture) === 1,
        });
      }
    }
    return new ControllerOrder(journalId, last);
  }

  /** Whether `event` comes after the last one applied to its controller. */
  isNewer(event: ControllerEvent): boolean {
    const last = this.last.get(event.mac);
    if (!last || last.at === NO_EVENT) return true;
    if (last.journalId === this.journalId && last.seq !== null) return event.seq > last.seq;
    return last.fromFuture || event.at >= last.at;
  }

  /** Records `event` as its controller's last one, in the transaction. */
  async applied(conn: Connection, event: ControllerEvent, query: Query): Promise<void> {
    this.last.set(event.mac, { at: event.at, journalId: this.journalId, seq: event.seq, fromFuture: false });
    await query(conn, 'UPDATE bridge_controleur_event SET last_event_ms = ?, journal_id = ?, last_seq = ? WHERE id_controleur = ?', [
      event.at,
      this.journalId,
      event.seq,
      event.mac,
    ]);
  }
}

/** One bridge: the time of the last event, for the status page. */
export async function recordLastEvent(conn: Connection, event: ControllerEvent, query: Query): Promise<void> {
  await query(
    conn,
    'INSERT INTO bridge_controleur_event (id_controleur, last_event_ms) VALUES (?, ?) ' +
      'ON DUPLICATE KEY UPDATE last_event_ms = VALUES(last_event_ms)',
    [event.mac, event.at],
  );
}

const claimKey = (e: ErrorRow) => createHash('sha1').update(`${e.type}\0${e.topic}\0${e.valeur ?? ''}`).digest('hex');

/**
 * A shared group: the errors of a controller message that this instance is the first to report
 * (same topic, type and value within the window); the other instances skip them.
 */
export async function claimControllerErrors(conn: Connection, errors: ErrorRow[], query: Query): Promise<Set<ErrorRow>> {
  const keyed = errors.map((error) => ({ error, key: claimKey(error) }));
  const keys = [...new Set(keyed.map((k) => k.key))].sort();
  for (const key of keys) {
    await query(conn, 'INSERT INTO bridge_controleur_error (error_key, last_event_ms) VALUES (?, ?) ON DUPLICATE KEY UPDATE error_key = error_key', [
      key,
      NO_EVENT,
    ]);
  }
  const last = new Map<string, number>();
  if (keys.length > 0) {
    // Locking read, as above: the latest claims, not the transaction's snapshot.
    const rows = await query<RowDataPacket[]>(conn, 'SELECT error_key AS k, last_event_ms AS at FROM bridge_controleur_error WHERE error_key IN (?) FOR UPDATE', [keys]);
    for (const r of rows) last.set(String(r.k), Number(r.at));
  }
  const claimed = new Set<ErrorRow>();
  for (const { error, key } of keyed) {
    const at = last.get(key) ?? NO_EVENT;
    if (at !== NO_EVENT && Math.abs(at - error.at) < SAME_CONTROLLER_ERROR_WINDOW_MS) continue;
    last.set(key, error.at);
    claimed.add(error);
    await query(conn, 'UPDATE bridge_controleur_error SET last_event_ms = ? WHERE error_key = ?', [error.at, key]);
  }
  return claimed;
}

/** Claims only matter for seconds: drop day-old ones, outside any batch's transaction. */
export async function forgetOldClaims(conn: Connection, nowMs: number, query: Query): Promise<void> {
  await query(conn, 'DELETE FROM bridge_controleur_error WHERE last_event_ms < ? LIMIT 1000', [nowMs - 86_400_000]);
}
