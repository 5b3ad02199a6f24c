/**
 * The consumer side of the journal: reads entries in order, decodes them against the catalog,
 * writes them to MySQL in batches and forgets them once committed. Runs until stopped; a
 * database failure never loses an entry, it only delays it.
 */
import type { RowDataPacket } from 'mysql2';
import { BatchWriter, type Batch } from '../db/batch-writer.js';
import type { CatalogCache } from '../db/catalog.js';
import { describeDbError } from '../db/errors.js';
import type { Connection, Pool } from '../db/pool.js';
import { decodeEntry, type DecodeOptions } from '../decode/decode-entry.js';
import type { ControllerEvent, Decoded, ErrorRow, JournalEntry, MesureRow } from '../decode/types.js';
import type { Journal } from '../journal/journal.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ErrorRateLimiter } from './error-rate-limiter.js';
import { Signal } from './signal.js';

export interface DrainOptions extends DecodeOptions {
  clientId: string;
  batchSize: number;
  retryDelayMs: number;
  /** How often an idle drain checks that the database still answers. */
  pingIntervalMs?: number;
}

export class Drain {
  private committedSeq = 0;
  private reconciled = false;
  private dbUp: boolean | undefined = undefined;
  private stopping = false;
  private stopped = false;
  private readonly signal = new Signal();
  private readonly writer: BatchWriter;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly pool: Pool,
    private readonly catalog: CatalogCache,
    private readonly limiter: ErrorRateLimiter,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: DrainOptions,
  ) {
    this.writer = new BatchWriter({ clientId: opts.clientId, journalId: journal.id }, log);
    journal.onAppend(() => this.signal.notify());
  }

  get dbConnected(): boolean {
    return this.dbUp === true;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops after writing what the journal holds, or at the deadline, whichever comes first.
   * Returns whether everything was written.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.signal.notify();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.loop, deadline]);
    clearTimeout(timer);
    this.stopped = true;
    this.signal.notify();
    await this.loop;
    return this.journal.backlogSize().entries === 0;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.reconciled) await this.reconcile();
        const entries = this.journal.read(this.committedSeq, this.opts.batchSize);
        if (entries.length > 0) {
          await this.writeEntries(entries);
        } else if (this.stopping) {
          break;
        } else {
          await this.signal.wait(this.opts.pingIntervalMs ?? 5_000);
          if (this.journal.backlogSize().entries === 0) await this.idleTick();
        }
      } catch (err) {
        // A COMMIT cut off by a lost connection may have succeeded: read the position again
        // before writing anything, or the batch would be written twice.
        this.reconciled = false;
        this.databaseFailed(err);
        if (!this.stopped) await this.signal.wait(this.opts.retryDelayMs);
      }
    }
  }

  /**
   * Skips what is committed but still in the journal: after a crash between COMMIT and the
   * removal, or after a COMMIT whose answer was lost with the connection.
   */
  private async reconcile(): Promise<void> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT journal_id, last_seq FROM bridge_journal_position WHERE client_id = ?',
      [this.opts.clientId],
    );
    const row = rows[0];
    if (row && row.journal_id === this.journal.id && Number(row.last_seq) > this.committedSeq) {
      const lastSeq = Number(row.last_seq);
      this.log.info({ lastSeq, skipped: lastSeq - this.committedSeq }, 'entries already committed are skipped');
      this.committedSeq = lastSeq;
      this.journal.removeUpTo(lastSeq);
    }
    this.reconciled = true;
    this.databaseAnswered();
  }

  private async decodeAll(entries: JournalEntry[]): Promise<Decoded[]> {
    await this.catalog.refresh();
    let decoded = entries.map((e) => decodeEntry(e, this.catalog, this.opts));
    // A bac or sensor added in the web app a moment ago: look again before reporting it.
    if (decoded.some((d) => d.catalogMiss) && (await this.catalog.refresh(true))) {
      decoded = entries.map((e) => decodeEntry(e, this.catalog, this.opts));
    }
    return decoded;
  }

  private async writeEntries(entries: JournalEntry[]): Promise<void> {
    const decoded = await this.decodeAll(entries);
    const batch: Batch = {
      lastSeq: entries[entries.length - 1]!.seq,
      mesures: decoded.flatMap((d): MesureRow[] => d.mesures),
      errors: decoded.flatMap((d): ErrorRow[] => d.errors),
      controllers: decoded.flatMap((d): ControllerEvent[] => (d.controller ? [d.controller] : [])),
    };
    const started = process.hrtime.bigint();
    await this.commit(batch);
    this.committedSeq = batch.lastSeq;
    this.journal.removeUpTo(batch.lastSeq);
    this.metrics.batchSize.observe(entries.length);
    this.metrics.commitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.log.debug({ entries: entries.length, lastSeq: batch.lastSeq, mesures: batch.mesures.length }, 'batch committed');
  }

  /** Nothing to write: check the database still answers, and write due error summaries. */
  private async idleTick(): Promise<void> {
    await this.commit({ lastSeq: this.committedSeq, mesures: [], errors: [], controllers: [] });
  }

  private async commit(batch: Batch): Promise<void> {
    const tx = this.limiter.begin();
    const limit = (rows: ErrorRow[]) => [...tx.filter(rows), ...tx.flush(Date.now())];
    let conn: Connection | undefined;
    try {
      conn = await this.pool.getConnection();
      const result = await this.writer.write(conn, batch, limit);
      conn.release();
      conn = undefined;
      tx.commit();
      this.databaseAnswered();
      this.count(result.mesures, result.errors, result.controllers, tx.suppressedByType);
    } catch (err) {
      // A connection that failed mid-transaction is not trusted again.
      conn?.destroy();
      throw err;
    }
  }

  private count(mesures: number, errors: ErrorRow[], controllers: number, suppressed: Map<string, number>): void {
    if (mesures > 0) this.metrics.rowsWritten.inc({ table: 'mesure' }, mesures);
    if (errors.length > 0) this.metrics.rowsWritten.inc({ table: 'error' }, errors.length);
    if (controllers > 0) this.metrics.rowsWritten.inc({ table: 'controleur' }, controllers);
    for (const row of errors) this.metrics.errors.inc({ type: row.type });
    for (const [type, n] of suppressed) {
      this.metrics.errors.inc({ type }, n);
      this.metrics.errorsSuppressed.inc({ type }, n);
    }
  }

  private databaseAnswered(): void {
    if (this.dbUp === true) return;
    if (this.dbUp === false) {
      this.metrics.dbReconnects.inc();
      this.log.info('database reachable again; writing the journal backlog');
    } else {
      this.log.info('database reachable');
    }
    this.dbUp = true;
    this.metrics.dbConnected.set(1);
  }

  /** Once per outage: a DB_ERROR entry, written to `error` in order when the database is back. */
  private databaseFailed(err: unknown): void {
    const detail = describeDbError(err);
    if (this.dbUp !== false) {
      this.journal.appendEvent('db_error', detail);
      this.catalog.invalidate();
      this.log.warn({ err: detail, backlog: this.journal.backlogSize() }, 'database unavailable; entries stay in the journal and are retried');
    } else {
      this.log.debug({ err: detail }, 'database still unavailable');
    }
    this.dbUp = false;
    this.metrics.dbConnected.set(0);
  }
}
