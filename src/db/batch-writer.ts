/**
 * Writes one batch in one MySQL transaction: multi-row INSERTs for readings and errors, the
 * controller events in order, and the journal position the batch reaches (so that a crash
 * after COMMIT never writes the batch twice). A row the database refuses for good becomes a
 * DB_INSERT_ERROR row and the rest of the batch is written; any other failure rolls the whole
 * batch back and is thrown to the caller, which decides by its kind (db/errors.ts).
 *
 * Every statement fits the server's max_allowed_packet: rows are sent in chunks sized from it.
 * The position is written first, and only if the database is still where the batch starts
 * (compare and set): a transaction sent on a connection given up on (a statement timeout) may
 * still run once the server answers again, and would then write its batch a second time. Its
 * row lock also makes a reconciliation (drain.ts) wait for such a transaction, not read past it.
 */
import { fr } from '../decode/messages-fr.js';
import type { ControllerEvent, ErrorRow, MesureRow } from '../decode/types.js';
import { asciiOnly, boundedValeur, truncate, MESSAGE_MAX_CHARS, VALEUR_MAX_CHARS } from '../decode/valeur.js';
import type { Logger } from '../logger.js';
import { formatDateTime, monotonicMs } from '../time.js';
import {
  applyController,
  claimControllerErrors,
  ControllerOrder,
  controllerTopic,
  forgetOldClaims,
  isControllerError,
  recordLastEvent,
  type Query,
} from './controller-writes.js';
import { isConnectionFailure } from './bounded-statements.js';
import { describeDbError, isRowRefused, refusesEveryRow, SchemaRefusal } from './errors.js';
import type { Connection } from './pool.js';

export interface Batch {
  /** The journal position the batch starts after. */
  afterSeq: number;
  lastSeq: number;
  mesures: MesureRow[];
  errors: ErrorRow[];
  controllers: ControllerEvent[];
}

export interface JournalPosition {
  clientId: string;
  journalId: string;
}

export interface WriterOptions {
  /**
   * Several bridges share the readings but each receives every controller message: controller
   * events follow a shared order, and the error a bad controller message causes is written
   * once, by whichever instance comes first.
   */
  sharedControllerTopics: boolean;
}

export interface WriteResult {
  mesures: number;
  errors: ErrorRow[];
  controllers: number;
}

type Row = unknown[];
type Statement = [sql: string, values: unknown[]];

// Upper bounds of a row's share of a statement, escaping included (each character may double).
const MESURE_ROW_BYTES = 80;
const ROW_OVERHEAD_BYTES = 96;
const STATEMENT_OVERHEAD_BYTES = 1024;
/** The max_allowed_packet under which the largest error rows are cut to fit a statement (`fitted`). */
export const LARGEST_ERROR_ROW_PACKET_BYTES = STATEMENT_OVERHEAD_BYTES + ROW_OVERHEAD_BYTES + 2 * 4 * (MESSAGE_MAX_CHARS + VALEUR_MAX_CHARS);
/** What the server's packet limit is taken to be until it has been read. */
const DEFAULT_MAX_ALLOWED_PACKET = 4 * 1024 * 1024;
/** MySQL's smallest max_allowed_packet. */
const MIN_MAX_ALLOWED_PACKET = 1024;
const CLAIMS_CLEANUP_INTERVAL_MS = 3_600_000;

const mesureValues = (m: MesureRow, at: string): Row => [m.bac, m.capteur, m.value, at];
const mesureRow = (m: MesureRow): Row => mesureValues(m, formatDateTime(m.at));
/** The readings of a batch share a few seconds of receipt: each second is formatted once. */
function mesureRows(mesures: MesureRow[]): Row[] {
  let second = Number.NaN;
  let at = '';
  return mesures.map((m) => {
    if (Math.floor(m.at / 1000) !== second) {
      second = Math.floor(m.at / 1000);
      at = formatDateTime(m.at);
    }
    return mesureValues(m, at);
  });
}
const errorRow = (e: ErrorRow): Row => [e.type, truncate(e.message, MESSAGE_MAX_CHARS), e.valeur, formatDateTime(e.at)];
const textBytes = (s: string | null) => (s === null ? 0 : 2 * Buffer.byteLength(s));
const errorRowBytes = (e: ErrorRow) => ROW_OVERHEAD_BYTES + textBytes(truncate(e.message, MESSAGE_MAX_CHARS)) + textBytes(e.valeur);
const mesureRowBytes = () => MESURE_ROW_BYTES;

const INSERT_MESURE = 'INSERT INTO mesure (bac, capteur, value, mesure_a) VALUES ?';
const INSERT_ERROR = 'INSERT INTO error (type_erreur, message, valeur, erreur_a) VALUES ?';
// The position, in three statements of the same round trip. First its row is locked: a
// transaction that holds it is waited for. Then it is read, after the lock (the transaction's
// first plain read, so it sees what that transaction committed); the read fails (1242: a scalar
// subquery with two rows, plain SQL's one way to abort a multi-statement) unless the row is
// exactly what the drain expects (`RowState`: this journal where the batch starts, or what its
// last reconciliation read, or no row at all). Then it is set to the batch's end.
const LOCK_POSITION = 'SELECT last_seq FROM bridge_journal_position WHERE client_id = ? FOR UPDATE';
const CHECK_POSITION =
  'SELECT (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE NOT (' +
  '(? IS NULL AND NOT EXISTS (SELECT 1 FROM bridge_journal_position WHERE client_id = ?)) OR ' +
  'EXISTS (SELECT 1 FROM bridge_journal_position WHERE client_id = ? AND journal_id = ? AND last_seq = ?))) AS position_check';
const MOVE_POSITION =
  'INSERT INTO bridge_journal_position (client_id, journal_id, last_seq, updated_at) VALUES (?, ?, ?, NOW()) ' +
  'ON DUPLICATE KEY UPDATE journal_id = VALUES(journal_id), last_seq = VALUES(last_seq), updated_at = VALUES(updated_at)';
const ER_SUBQUERY_NO_1_ROW = 1242;

/**
 * What the position row must hold for a batch to be written: `null` for no row. Anything else
 * (another transaction wrote it, a restore put it back, it was deleted) aborts the batch.
 */
export type RowState = { journalId: string; lastSeq: number } | null;

/** The position row is not what the batch expects: the drain reads it again (recovery.ts). */
export class PositionMoved extends Error {
  constructor() {
    super('the journal position in the database is not where this batch expects it');
    this.name = 'PositionMoved';
  }
}

/** The refusal of a row too large for any statement, worded as the server would. */
function packetTooLarge(bytes: number, limit: number) {
  return { code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153, sqlMessage: `row of about ${bytes} bytes, over max_allowed_packet (${limit})` };
}

/** `items` cut into runs whose estimated size stays within `budget`. */
function chunks<T>(items: T[], sizeOf: (item: T) => number, budget: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = sizeOf(item);
    if (current.length > 0 && size + bytes > budget) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** What a controller event says, without the bridge's own stamps: the same in every instance. */
function eventContent(event: ControllerEvent): Record<string, unknown> {
  return event.kind === 'connect' ? { kind: event.kind, mac: event.mac, ip: event.ip, status: event.status } : { kind: event.kind, mac: event.mac };
}

function positionMoved(err: unknown): PositionMoved | undefined {
  return (err as { errno?: unknown }).errno === ER_SUBQUERY_NO_1_ROW ? new PositionMoved() : undefined;
}

function refusedRow(table: string, err: unknown, valeur: string, at: number, topic: string): ErrorRow {
  return { type: 'DB_INSERT_ERROR', message: fr.dbInsertError(table, describeDbError(err)), valeur: boundedValeur(valeur), at, topic };
}

export class BatchWriter {
  private maxAllowedPacket = DEFAULT_MAX_ALLOWED_PACKET;
  private claimsCleanedAt = monotonicMs();

  constructor(
    private readonly position: JournalPosition,
    private readonly log: Logger,
    private readonly options: WriterOptions,
  ) {}

  /** The server's max_allowed_packet, read by the caller at each (re)connection. */
  setMaxAllowedPacket(bytes: number): void {
    this.maxAllowedPacket = Math.max(MIN_MAX_ALLOWED_PACKET, bytes);
  }

  /**
   * The server refused a statement as too large although it was sized to fit (a proxy or a
   * limit changed meanwhile): smaller statements from now on. False once at the floor.
   */
  shrinkStatements(): boolean {
    if (this.maxAllowedPacket <= MIN_MAX_ALLOWED_PACKET) return false;
    this.setMaxAllowedPacket(Math.floor(this.maxAllowedPacket / 2));
    this.log.warn({ maxAllowedPacket: this.maxAllowedPacket }, 'the server refused a statement as too large; writing smaller ones');
    return true;
  }

  private get statementBudget(): number {
    return Math.max(256, this.maxAllowedPacket - STATEMENT_OVERHEAD_BYTES);
  }

  private readonly query: Query = async <T>(conn: Connection, sql: string, values?: unknown[]) => {
    const [rows] = await conn.query(sql, values);
    return rows as T;
  };

  /** After a failure: a connection that is still there leaves its transaction. */
  private async rollback(conn: Connection, err: unknown): Promise<void> {
    if (!isConnectionFailure(err)) await this.query(conn, 'ROLLBACK').catch(() => undefined);
  }

  /**
   * Writes `batch` if the position row holds `expected`, and moves it to the batch's end.
   * `limitErrors` is applied to every error row, those the database produces included.
   * Throws (after ROLLBACK) on any failure that is not about a single row.
   */
  async write(conn: Connection, batch: Batch, expected: RowState, limitErrors: (rows: ErrorRow[]) => ErrorRow[]): Promise<WriteResult> {
    const errors = limitErrors(batch.errors);
    const claimErrors = this.options.sharedControllerTopics && errors.some(isControllerError);
    const position = this.positionStatements(batch, expected);
    if (batch.controllers.length === 0 && !claimErrors && this.fitsOneStatement(batch, errors) && (await this.writeInOneRoundTrip(conn, batch, position, errors))) {
      return { mesures: batch.mesures.length, errors, controllers: 0 };
    }
    const result = await this.writeCarefully(conn, batch, position, errors, limitErrors);
    if (this.options.sharedControllerTopics) await this.forgetOldClaimsNowAndThen(conn);
    return result;
  }

  private fitsOneStatement(batch: Batch, errors: ErrorRow[]): boolean {
    let bytes = batch.mesures.length * MESURE_ROW_BYTES;
    for (const e of errors) bytes += errorRowBytes(e);
    return bytes <= this.statementBudget;
  }

  /**
   * The common case, in a single round trip: under load the event loop is busy with incoming
   * messages, and every extra round trip of a batch waits behind them. False when the database
   * refused a row: the transaction is rolled back and the careful path takes over.
   */
  private async writeInOneRoundTrip(conn: Connection, batch: Batch, position: Statement[], errors: ErrorRow[]): Promise<boolean> {
    const statements = ['START TRANSACTION', ...position.map(([sql]) => sql)];
    const values: unknown[] = position.flatMap(([, v]) => v);
    if (batch.mesures.length > 0) {
      statements.push(INSERT_MESURE);
      values.push(mesureRows(batch.mesures));
    }
    if (errors.length > 0) {
      statements.push(INSERT_ERROR);
      values.push(errors.map(errorRow));
    }
    statements.push('COMMIT');
    try {
      await this.query(conn, statements.join(';\n'), values);
      return true;
    } catch (err) {
      await this.rollback(conn, err);
      if (isRowRefused(err)) return false;
      throw positionMoved(err) ?? err;
    }
  }

  private async writeCarefully(conn: Connection, batch: Batch, position: Statement[], errors: ErrorRow[], limitErrors: (rows: ErrorRow[]) => ErrorRow[]): Promise<WriteResult> {
    await this.query(conn, 'START TRANSACTION');
    try {
      for (const [sql, values] of position) await this.query(conn, sql, values);
      const refused: ErrorRow[] = [];
      const mesures = await this.insertAll(conn, 'mesure', INSERT_MESURE, batch.mesures, mesureRow, mesureRowBytes, (m, err) =>
        refused.push(refusedRow('mesure', err, JSON.stringify(mesureRow(m)), m.at, `mesure/${m.bac}`)),
      );
      const controllers = await this.writeControllers(conn, batch.controllers, refused);
      let allErrors = [...errors, ...limitErrors(refused)];
      if (this.options.sharedControllerTopics && allErrors.some(isControllerError)) {
        const claimed = await claimControllerErrors(conn, allErrors.filter(isControllerError), this.query);
        allErrors = allErrors.filter((e) => !isControllerError(e) || claimed.has(e));
      }
      await this.insertErrors(conn, allErrors);
      await this.query(conn, 'COMMIT');
      return { mesures, errors: allErrors, controllers };
    } catch (err) {
      await this.rollback(conn, err);
      throw positionMoved(err) ?? err;
    }
  }

  /** Applies the events in order; returns how many changed `controleur`. */
  private async writeControllers(conn: Connection, events: ControllerEvent[], refused: ErrorRow[]): Promise<number> {
    if (events.length === 0) return 0;
    const order = this.options.sharedControllerTopics ? await ControllerOrder.lock(conn, this.position.journalId, events, this.query) : undefined;
    let applied = 0;
    for (const event of events) {
      if (order && !order.isNewer(event)) continue;
      try {
        await applyController(conn, event, this.query);
      } catch (err) {
        if (!isRowRefused(err)) throw err;
        refused.push(refusedRow('controleur', err, JSON.stringify(eventContent(event)), event.at, controllerTopic(event)));
        continue;
      }
      if (order) await order.applied(conn, event, this.query);
      else await recordLastEvent(conn, event, this.query);
      applied++;
    }
    return applied;
  }

  /**
   * Inserts `items` in statements that fit the packet limit; when the database refuses a
   * statement because of a row, retries that statement's rows one by one. A refusal that every
   * row of the table would meet (a NOT NULL column the bridge does not fill) holds the batch.
   */
  private async insertAll<T>(
    conn: Connection,
    table: string,
    sql: string,
    items: T[],
    toRow: (item: T) => Row,
    sizeOf: (item: T) => number,
    refused: (item: T, err: unknown) => void,
  ): Promise<number> {
    let written = 0;
    const budget = this.statementBudget;
    for (const chunk of chunks(items, sizeOf, budget)) {
      if (chunk.length === 1 && sizeOf(chunk[0]!) > budget) {
        refused(chunk[0]!, packetTooLarge(sizeOf(chunk[0]!), this.maxAllowedPacket));
        continue;
      }
      try {
        await this.query(conn, sql, [chunk.map(toRow)]);
        written += chunk.length;
        continue;
      } catch (err) {
        if (refusesEveryRow(err)) throw new SchemaRefusal(err, table);
        if (!isRowRefused(err)) throw err;
      }
      // A failed statement is rolled back on its own; the transaction goes on.
      for (const item of chunk) {
        try {
          await this.query(conn, sql, [[toRow(item)]]);
          written++;
        } catch (err) {
          if (!isRowRefused(err)) throw err;
          refused(item, err);
        }
      }
    }
    return written;
  }

  /** Lock, check and move the position row, with their values. */
  private positionStatements(batch: Batch, expected: RowState): Statement[] {
    const { clientId, journalId } = this.position;
    const expectedJournal = expected?.journalId ?? null;
    return [
      [LOCK_POSITION, [clientId]],
      [CHECK_POSITION, [expectedJournal, clientId, clientId, expectedJournal, expected?.lastSeq ?? null]],
      [MOVE_POSITION, [clientId, journalId, batch.lastSeq]],
    ];
  }

  /** An error row cut so that it fits one statement, however small the server's limit. */
  private fitted(row: ErrorRow): ErrorRow {
    if (errorRowBytes(row) <= this.statementBudget) return row;
    // Worst case 4 bytes a character, doubled by escaping; message and value share the room.
    const chars = Math.max(16, Math.floor((this.statementBudget - ROW_OVERHEAD_BYTES) / 16));
    return { ...row, message: truncate(row.message, chars), valeur: row.valeur === null ? null : truncate(row.valeur, chars) };
  }

  /** Error rows always fit our schema; a web app column with a narrower charset gets ASCII. */
  private async insertErrors(conn: Connection, errors: ErrorRow[]): Promise<void> {
    const stillRefused: ErrorRow[] = [];
    await this.insertAll(conn, 'error', INSERT_ERROR, errors.map((e) => this.fitted(e)), errorRow, errorRowBytes, (row) => stillRefused.push(row));
    for (const row of stillRefused) {
      const ascii = { ...row, message: asciiOnly(row.message), valeur: row.valeur === null ? null : asciiOnly(row.valeur) };
      try {
        await this.query(conn, INSERT_ERROR, [[errorRow(ascii)]]);
      } catch (err) {
        if (!isRowRefused(err)) throw err;
        this.log.error({ type: row.type, message: row.message, err: describeDbError(err) }, 'the database refused an error row; it is only logged');
      }
    }
  }

  private async forgetOldClaimsNowAndThen(conn: Connection): Promise<void> {
    if (monotonicMs() - this.claimsCleanedAt < CLAIMS_CLEANUP_INTERVAL_MS) return;
    this.claimsCleanedAt = monotonicMs();
    await forgetOldClaims(conn, Date.now(), this.query).catch((err: unknown) => {
      this.log.debug({ err: describeDbError(err) }, 'old controller error claims not cleaned this time');
    });
  }
}
