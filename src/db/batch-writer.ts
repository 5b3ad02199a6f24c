/**
 * Writes one batch in one MySQL transaction: multi-row INSERTs for readings and errors, the
 * controller events in order, and the journal position the batch reaches (so that a crash
 * after COMMIT never writes the batch twice). A row the database refuses for good becomes a
 * DB_INSERT_ERROR row and the rest of the batch is written; any other failure rolls the whole
 * batch back and is thrown to the caller, which retries it later.
 */
import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2';
import { fr } from '../decode/messages-fr.js';
import type { ControllerEvent, ErrorRow, MesureRow } from '../decode/types.js';
import { asciiOnly, boundedValeur, truncate, MESSAGE_MAX_CHARS } from '../decode/valeur.js';
import type { Logger } from '../logger.js';
import { formatDateTime } from '../time.js';
import { describeDbError, isRowRefused } from './errors.js';
import type { Connection } from './pool.js';

export interface Batch {
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
   * Several bridges share the readings but each receives every controller message: the error
   * a bad controller message causes is then written once, by whichever instance comes first.
   */
  sharedControllerTopics: boolean;
}

/** Instances receive one broker message within milliseconds of each other. */
const SAME_CONTROLLER_ERROR_WINDOW_MS = 10_000;

export interface WriteResult {
  mesures: number;
  errors: ErrorRow[];
  controllers: number;
}

type Row = unknown[];

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

const INSERT_MESURE = 'INSERT INTO mesure (bac, capteur, value, mesure_a) VALUES ?';
const INSERT_ERROR = 'INSERT INTO error (type_erreur, message, valeur, erreur_a) VALUES ?';
const UPSERT_POSITION =
  'INSERT INTO bridge_journal_position (client_id, journal_id, last_seq, updated_at) VALUES (?, ?, ?, NOW()) ' +
  'ON DUPLICATE KEY UPDATE journal_id = VALUES(journal_id), last_seq = VALUES(last_seq), updated_at = VALUES(updated_at)';

/** Inserts `rows`; when the database refuses the statement for a row, retries one by one. */
async function insertAll<T>(conn: Connection, sql: string, items: T[], toRow: (item: T) => Row, refused: (item: T, err: unknown) => void): Promise<number> {
  if (items.length === 0) return 0;
  try {
    await conn.query(sql, [items.map(toRow)]);
    return items.length;
  } catch (err) {
    if (!isRowRefused(err)) throw err;
  }
  // A failed statement is rolled back on its own; the transaction goes on.
  let written = 0;
  for (const item of items) {
    try {
      await conn.query(sql, [[toRow(item)]]);
      written++;
    } catch (err) {
      if (!isRowRefused(err)) throw err;
      refused(item, err);
    }
  }
  return written;
}

function refusedRow(table: string, err: unknown, valeur: string, at: number, topic: string): ErrorRow {
  return { type: 'DB_INSERT_ERROR', message: fr.dbInsertError(table, describeDbError(err)), valeur: boundedValeur(valeur), at, topic };
}

/**
 * Applies a controller event unless a later one is already applied (last writer wins on the
 * receipt time), so that replays and several bridge instances keep the broker's order.
 */
async function applyController(conn: Connection, event: ControllerEvent): Promise<boolean> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT last_event_ms FROM bridge_controleur_event WHERE id_controleur = ? FOR UPDATE',
    [event.mac],
  );
  const last = rows[0] ? Number(rows[0].last_event_ms) : undefined;
  if (last !== undefined && last > event.at) return false;
  if (event.kind === 'connect') {
    await conn.query(
      'INSERT INTO controleur (id_controleur, ip, status) VALUES (?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE ip = VALUES(ip), status = VALUES(status)',
      [event.mac, event.ip, event.status],
    );
  } else {
    await conn.query('UPDATE controleur SET status = FALSE WHERE id_controleur = ?', [event.mac]);
  }
  await conn.query(
    'INSERT INTO bridge_controleur_event (id_controleur, last_event_ms) VALUES (?, ?) ' +
      'ON DUPLICATE KEY UPDATE last_event_ms = VALUES(last_event_ms)',
    [event.mac, event.at],
  );
  return true;
}

function controllerTopic(event: ControllerEvent): string {
  return event.kind === 'connect' ? `controleur/${event.mac}` : `controleur/${event.mac}/disconnect`;
}

const isControllerError = (e: ErrorRow) => e.topic.startsWith('controleur/');

/**
 * True the first time an instance reports this error of this controller message (same topic,
 * type and value within the window); the other instances then skip it.
 */
async function claimControllerError(conn: Connection, error: ErrorRow): Promise<boolean> {
  const key = createHash('sha1').update(`${error.type}\0${error.topic}\0${error.valeur ?? ''}`).digest('hex');
  const [rows] = await conn.query<RowDataPacket[]>('SELECT last_event_ms FROM bridge_controleur_error WHERE error_key = ? FOR UPDATE', [key]);
  const last = rows[0] ? Number(rows[0].last_event_ms) : undefined;
  if (last !== undefined && Math.abs(last - error.at) < SAME_CONTROLLER_ERROR_WINDOW_MS) return false;
  await conn.query(
    'INSERT INTO bridge_controleur_error (error_key, last_event_ms) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_event_ms = VALUES(last_event_ms)',
    [key, error.at],
  );
  // Claims only matter for a few seconds; keep the table small.
  await conn.query('DELETE FROM bridge_controleur_error WHERE last_event_ms < ? LIMIT 100', [error.at - 86_400_000]);
  return true;
}

export class BatchWriter {
  constructor(
    private readonly position: JournalPosition,
    private readonly log: Logger,
    private readonly options: WriterOptions = { sharedControllerTopics: false },
  ) {}

  /**
   * `limitErrors` is applied to every error row, those the database produces included.
   * Throws (after ROLLBACK) on any failure that is not about a single row.
   */
  async write(conn: Connection, batch: Batch, limitErrors: (rows: ErrorRow[]) => ErrorRow[]): Promise<WriteResult> {
    const errors = limitErrors(batch.errors);
    const claimErrors = this.options.sharedControllerTopics && errors.some(isControllerError);
    if (batch.controllers.length === 0 && !claimErrors && (await this.writeInOneRoundTrip(conn, batch, errors))) {
      return { mesures: batch.mesures.length, errors, controllers: 0 };
    }
    return this.writeRowByRowOnRefusal(conn, batch, errors, limitErrors);
  }

  /**
   * The common case, in a single round trip: under load the event loop is busy with incoming
   * messages, and every extra round trip of a batch waits behind them. False when the database
   * refused a row: the transaction is rolled back and the careful path takes over.
   */
  private async writeInOneRoundTrip(conn: Connection, batch: Batch, errors: ErrorRow[]): Promise<boolean> {
    const statements = ['START TRANSACTION'];
    const values: unknown[] = [];
    if (batch.mesures.length > 0) {
      statements.push(INSERT_MESURE);
      values.push(mesureRows(batch.mesures));
    }
    if (errors.length > 0) {
      statements.push(INSERT_ERROR);
      values.push(errors.map(errorRow));
    }
    statements.push(UPSERT_POSITION, 'COMMIT');
    values.push(...this.positionValues(batch));
    try {
      await conn.query(statements.join(';\n'), values);
      return true;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if (isRowRefused(err)) return false;
      throw err;
    }
  }

  private async writeRowByRowOnRefusal(
    conn: Connection,
    batch: Batch,
    errors: ErrorRow[],
    limitErrors: (rows: ErrorRow[]) => ErrorRow[],
  ): Promise<WriteResult> {
    await conn.beginTransaction();
    try {
      const refused: ErrorRow[] = [];
      const mesures = await insertAll(conn, INSERT_MESURE, batch.mesures, mesureRow, (m, err) =>
        refused.push(refusedRow('mesure', err, JSON.stringify(mesureRow(m)), m.at, `mesure/${m.bac}`)),
      );

      let controllers = 0;
      for (const event of batch.controllers) {
        try {
          if (await applyController(conn, event)) controllers++;
        } catch (err) {
          if (!isRowRefused(err)) throw err;
          refused.push(refusedRow('controleur', err, JSON.stringify(event), event.at, controllerTopic(event)));
        }
      }

      const allErrors: ErrorRow[] = [];
      for (const error of [...errors, ...limitErrors(refused)]) {
        if (this.options.sharedControllerTopics && isControllerError(error) && !(await claimControllerError(conn, error))) continue;
        allErrors.push(error);
      }
      await this.insertErrors(conn, allErrors);
      await conn.query(UPSERT_POSITION, this.positionValues(batch));
      await conn.commit();
      return { mesures, errors: allErrors, controllers };
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    }
  }

  private positionValues(batch: Batch): unknown[] {
    return [this.position.clientId, this.position.journalId, batch.lastSeq];
  }

  /** Error rows always fit our schema; a web app column with a narrower charset gets ASCII. */
  private async insertErrors(conn: Connection, errors: ErrorRow[]): Promise<void> {
    const stillRefused: ErrorRow[] = [];
    await insertAll(conn, INSERT_ERROR, errors, errorRow, (row) => stillRefused.push(row));
    for (const row of stillRefused) {
      const ascii = { ...row, message: asciiOnly(row.message), valeur: row.valeur === null ? null : asciiOnly(row.valeur) };
      try {
        await conn.query(INSERT_ERROR, [[errorRow(ascii)]]);
      } catch (err) {
        if (!isRowRefused(err)) throw err;
        this.log.error({ type: row.type, message: row.message, err: describeDbError(err) }, 'the database refused an error row; it is only logged');
      }
    }
  }
}
