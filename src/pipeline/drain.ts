/**
 * The consumer side of the journal: reads entries in order, decodes them against the catalog,
 * writes them to MySQL in batches and forgets them once committed. Runs until stopped; a
 * database failure never loses an entry, it only delays it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2';
import { BatchWriter, PositionMoved, type Batch, type RowState } from '../db/batch-writer.js';
import type { CatalogCache } from '../db/catalog.js';
import { classifyDbError, describeDbError, setupFix, type SetupFix } from '../db/errors.js';
import type { Connection, Pool } from '../db/pool.js';
import { decodeEntry, type DecodeOptions } from '../decode/decode-entry.js';
import { errorMessage } from '../error-message.js';
import type { ControllerEvent, Decoded, ErrorRow, ErrorType, JournalEntry, MesureRow } from '../decode/types.js';
import type { Logger } from '../logger.js';
import type { DrainJournal, DrainObserver } from './drain-ports.js';
import type { ErrorRateLimiter } from './error-rate-limiter.js';
import { conflictBackoffMs } from './backoff.js';
import { decide, recoveryText, type LostRange, type PositionRow, type Recovery } from './recovery.js';
import { Signal } from './signal.js';
import { formatDateTime, monotonicMs } from '../time.js';

export interface DrainOptions extends DecodeOptions {
  clientId: string;
  batchSize: number;
  retryDelayMs: number;
  /** Several instances in a shared subscription group (MQTT_SHARED_GROUP). */
  sharedControllerTopics?: boolean;
  /** How often an idle drain checks that the database still answers. */
  pingIntervalMs?: number;
}

/** Why the database takes no writes, and what to do about it (log, /readyz, status page). */
export interface DatabaseProblem {
  /** `setup`: every write will fail until someone fixes the database; else the server is unreachable. */
  kind: 'setup' | 'unavailable';
  cause: string;
  /** What to do, for the log (English) and the status page (French); none for an outage. */
  fix: SetupFix | undefined;
  /** Wall-clock time it began, for display. */
  since: number;
  /** The same moment on the monotonic clock, for its duration. */
  sinceMonotonic: number;
}

/** What the last recovery did (recovery.ts), for the status page and /api/status. */
export interface RecoveryReport {
  kind: 'journal-behind' | 'refill';
  /** When the bridge found it (wall clock). */
  at: number;
  /** What the log line says, in English. */
  summary: string;
  /** Entries written again (refill): how many, and how many are written so far. */
  toWriteAgain: number;
  writtenAgain: number;
  /** Receipt times the journal no longer holds and the database lost: readings not refilled. */
  lost: (LostRange & { from: string | undefined; to: string | undefined }) | undefined;
}

const ERROR_KIND_LOG_INTERVAL_MS = 60_000;
/** Several `PositionMoved` in a row without a commit: something else writes; slow down. */
const POSITION_MOVES_BEFORE_WAITING = 3;
/** After the shutdown deadline, how long the batch being written may still take. */
const STOP_GRACE_MS = 5_000;
// Bounds on one batch's memory whatever devices send (a normal batch is far below both).
const MAX_BATCH_PAYLOAD_BYTES = 4 * 1024 * 1024;
const MAX_BATCH_ROWS = 20_000;
/**
 * A deadlock, lock wait timeout or certification failure is tried again this many times, after
 * jittered waits (backoff.ts: about 13 s in all at most), before it counts as a failure.
 */
const CONFLICT_RETRIES = 12;

interface Prepared {
  entryCount: number;
  /**
   * Receipt time of its last entry: the error rate limiter's clock, so that a backlog written
   * after an outage is limited per minute of receipt, as it would have been at the time.
   */
  receivedUpTo: number;
  batch: Batch;
}

export class Drain {
  private reconciled = false;
  /** The reconciliation started before the loop (reconcileNow), which the loop waits for. */
  private reconciling: Promise<boolean> | undefined;
  /**
   * What the position row holds, as far as this drain knows: what its last reconciliation read,
   * then what its last batch wrote. The next batch is written only if the row still holds it.
   */
  private rowState: RowState = null;
  /** True until a reconciliation succeeded in this process (recovery.ts, `first`). */
  private firstReconciliation = true;
  private positionMoves = 0;
  /** The entries being written again after the database went back, while that lasts. */
  private refill: { upTo: number; report: RecoveryReport } | undefined;
  private lastRecovery: RecoveryReport | undefined;
  private otherJournalLogged = false;
  private dbUp: boolean | undefined = undefined;
  private problem: DatabaseProblem | undefined;
  private stopping = false;
  private stopped = false;
  /** Woken by every append to the journal, and by stop. */
  private readonly signal = new Signal();
  /** Woken by stop only: the retry delay after a failure. */
  private readonly stopSignal = new Signal();
  /** The next batch, read and decoded while the current one is written. */
  private next: Promise<Prepared | undefined> | undefined;
  private readonly writer: BatchWriter;
  private loop: Promise<void> | undefined;
  private readonly errorKindLoggedAt = new Map<ErrorType, number>();

  constructor(
    private readonly journal: DrainJournal,
    private readonly pool: Pool,
    private readonly catalog: CatalogCache,
    private readonly limiter: ErrorRateLimiter,
    private readonly observer: DrainObserver,
    private readonly log: Logger,
    private readonly opts: DrainOptions,
  ) {
    this.writer = new BatchWriter({ clientId: opts.clientId, journalId: journal.id }, log, {
      sharedControllerTopics: opts.sharedControllerTopics ?? false,
    });
    journal.onAppend(() => this.signal.notify());
  }

  /** The journal's own mark: one value, whichever drain moved it (a handover shares the file). */
  private get committedSeq(): number {
    return this.journal.committedUpTo;
  }

  /** The last time the journal and the database disagreed, and what was done about it. */
  get recovery(): RecoveryReport | undefined {
    return this.lastRecovery;
  }

  /**
   * Compares the journal with the database once, before the bridge acknowledges anything: a
   * journal older than the database must number new entries after the database's position
   * (recovery.ts). False when the database did not answer: the drain does it when it does.
   */
  reconcileNow(): Promise<boolean> {
    this.reconciling ??= this.reconcile().then(
      () => true,
      (err: unknown) => {
        this.log.info({ err: describeDbError(err) }, 'the journal is compared with the database once it answers; messages are received meanwhile');
        return false;
      },
    );
    return this.reconciling;
  }

  /** True once a write committed, until one fails. */
  get dbConnected(): boolean {
    return this.dbUp === true;
  }

  get databaseProblem(): DatabaseProblem | undefined {
    return this.problem;
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
    this.wakeUp();
    await Promise.race([this.loop, delay(timeoutMs, undefined, { ref: false })]);
    this.stopped = true;
    this.wakeUp();
    // The batch being written finishes, unless MySQL hangs: shutdown must still end.
    await Promise.race([Promise.allSettled([this.loop, this.next]), delay(STOP_GRACE_MS, undefined, { ref: false })]);
    return this.journal.read(this.committedSeq, 1).length === 0;
  }

  private wakeUp(): void {
    this.signal.notify();
    this.stopSignal.notify();
  }

  private async run(): Promise<void> {
    await this.reconciling;
    while (!this.stopped) {
      try {
        if (!this.reconciled) await this.reconcile();
        const ahead = this.next;
        this.next = undefined;
        // "Nothing ahead" was read during the last commit: look again before going idle.
        const prepared = (await ahead) ?? (await this.prepare(this.committedSeq));
        if (this.stopped) break;
        if (prepared) {
          const writing = this.commitAndForget(prepared);
          // Read and decode the next batch while MySQL writes this one (its query is usually
          // sent by then); it is used only if this one commits.
          const next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.prepare(prepared.batch.lastSeq));
          next.catch(() => undefined); // a failure here shows again when it is awaited
          this.next = next;
          await writing;
        } else if (this.stopping) {
          break;
        } else if (this.dbUp !== true) {
          // Only a committed write says the database takes writes (a read may work while
          // writes fail): at start, and after a failure with nothing to write, write the position.
          await this.idleTick();
        } else {
          const woken = await this.signal.wait(this.opts.pingIntervalMs ?? 5_000);
          if (!woken) await this.idleTick();
        }
      } catch (err) {
        // A COMMIT cut off by a lost connection may have succeeded: read the position again
        // before writing anything, or the batch would be written twice.
        this.reconciled = false;
        this.next = undefined;
        if (err instanceof PositionMoved) {
          this.log.info({ committedSeq: this.committedSeq }, 'the position in the database is not where this batch starts; reading it again');
          // Never spin: a position that keeps moving under the drain is waited out.
          if (++this.positionMoves <= POSITION_MOVES_BEFORE_WAITING) continue;
          this.log.warn({ committedSeq: this.committedSeq, times: this.positionMoves }, 'the position keeps moving under this bridge (another bridge with the same client id and journal?); waiting before trying again');
        }
        if (!(err instanceof PositionMoved)) this.failed(err);
        // New entries must not shorten the wait: only a stop does.
        if (!this.stopped) await this.stopSignal.wait(this.opts.retryDelayMs);
      }
    }
  }

  /**
   * Compares the journal with the position row and acts on it (recovery.ts): skips what is
   * committed but not yet marked in the journal (a crash between COMMIT and the mark, or a
   * COMMIT whose answer was lost), numbers new entries after a database that is ahead of the
   * journal, writes again what a database that went back lost. The read locks the position
   * row, which every batch transaction locks first: a transaction still running on a
   * connection given up on (a statement timeout) is waited for, not read past. Also reads the
   * server's max_allowed_packet, which sizes the statements, and its clock.
   */
  private async reconcile(): Promise<void> {
    const conn = await this.pool.getConnection();
    let row: RowDataPacket | undefined;
    let skewMs: number;
    try {
      const sentAt = Date.now();
      const [settings] = await conn.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS maxAllowedPacket, UNIX_TIMESTAMP(NOW(3)) AS now');
      skewMs = (sentAt + Date.now()) / 2 - Number(settings[0]!.now) * 1000;
      this.writer.setMaxAllowedPacket(Number(settings[0]!.maxAllowedPacket));
      await conn.query('START TRANSACTION');
      const [rows] = await conn.query<RowDataPacket[]>(
        // UNIX_TIMESTAMP reads updated_at in the session's zone, the one NOW() wrote it in.
        'SELECT journal_id, last_seq, UNIX_TIMESTAMP(updated_at) AS moved_at FROM bridge_journal_position WHERE client_id = ? LOCK IN SHARE MODE',
        [this.opts.clientId],
      );
      await conn.query('COMMIT');
      conn.release();
      row = rows[0];
    } catch (err) {
      conn.destroy();
      throw err;
    }
    const position: PositionRow | undefined = row && {
      journalId: String(row.journal_id),
      lastSeq: Number(row.last_seq),
      // DATETIME keeps whole seconds: the start of that second (the earliest it can have been), on the bridge's clock.
      movedAtMs: Number(row.moved_at) * 1000 + skewMs,
    };
    const journal = this.journal;
    const decision = decide(
      position,
      {
        id: journal.id,
        committedUpTo: this.committedSeq,
        removedUpTo: journal.removedUpToSeq,
        lastSequence: journal.lastSequence,
        earlierRunsUpTo: journal.earlierRunsUpTo,
        positionBase: journal.positionBase,
        positionSinceMs: journal.positionSinceMs,
        lastReceivedBy: (atMs, afterSeq, upToSeq) => journal.lastReceivedBy(atMs, afterSeq, upToSeq),
      },
      this.firstReconciliation,
    );
    this.carryOut(decision);
    // The next batch must find the row exactly as read: anything else moved it meanwhile.
    this.rowState = position ? { journalId: position.journalId, lastSeq: position.lastSeq } : null;
    journal.markReconciled();
    this.firstReconciliation = false;
    this.reconciled = true;
  }

  private carryOut(decision: Recovery): void {
    const journal = this.journal;
    switch (decision.kind) {
      case 'in-step':
        return;
      case 'other-journal':
        if (!this.otherJournalLogged) {
          this.otherJournalLogged = true;
          this.log.warn({ clientId: this.opts.clientId, otherJournalId: decision.otherJournalId, journalId: journal.id }, recoveryText.otherJournal);
        }
        return;
      case 'skip':
        this.log.info({ lastSeq: decision.to, skipped: decision.to - this.committedSeq }, 'entries already committed are skipped');
        journal.markCommitted(decision.to);
        return;
      case 'journal-behind': {
        // Said before it is done: a crash right after it must not leave it unsaid (the next
        // start finds the journal in step); a crash before it says it again.
        const renumbered = Math.max(0, journal.lastSequence - decision.inDatabaseUpTo);
        const summary = recoveryText.journalBehind(decision.databaseSeq, decision.inDatabaseUpTo, renumbered);
        this.log.error({ databaseSeq: decision.databaseSeq, journalUpTo: decision.inDatabaseUpTo, renumbered, journalId: journal.id }, summary);
        journal.skipAhead(decision.databaseSeq, decision.inDatabaseUpTo);
        this.lastRecovery = { kind: 'journal-behind', at: Date.now(), summary, toWriteAgain: 0, writtenAgain: 0, lost: undefined };
        return;
      }
      case 'refill':
        this.startRefill(decision);
    }
  }

  /** The database went back: writes the retained entries again from where it is. */
  private startRefill(decision: Extract<Recovery, { kind: 'refill' }>): void {
    const journal = this.journal;
    const toWriteAgain = decision.upTo - decision.from;
    const summary = recoveryText.refill(decision.databaseSeq, decision.from, decision.upTo, journal.receivedAtOrBefore(decision.from + 1), journal.receivedAtOrBefore(decision.upTo));
    const lost = decision.lost && this.lostRange(decision.lost);
    // Said before the journal goes back, as for a journal behind (carryOut).
    this.log.warn({ databaseSeq: decision.databaseSeq, from: decision.from, upTo: decision.upTo, entries: toWriteAgain, journalId: journal.id }, summary);
    if (lost) {
      this.observer.entriesNotRefilled(lost.toSeq - lost.fromSeq + 1);
      this.log.error(
        { fromSeq: lost.fromSeq, toSeq: lost.toSeq, receivedFrom: lost.from, receivedTo: lost.to, receivedFromMs: lost.fromMs, receivedToMs: lost.toMs, journalId: journal.id },
        recoveryText.lost(lost),
      );
    }
    journal.rewindTo(decision.from);
    this.limiter.reset();
    const report: RecoveryReport = { kind: 'refill', at: Date.now(), summary, toWriteAgain, writtenAgain: 0, lost };
    this.lastRecovery = report;
    this.refill = toWriteAgain > 0 ? { upTo: decision.upTo, report } : undefined;
  }

  /** When the entries a database lost and the journal no longer holds had been received. */
  private lostRange({ fromSeq, toSeq }: { fromSeq: number; toSeq: number }): NonNullable<RecoveryReport['lost']> {
    const fromMs = this.journal.receivedAtOrBefore(fromSeq);
    const toMs = this.journal.retainedWindow().removedReceivedAt;
    const text = (ms: number | undefined) => (ms === undefined ? undefined : formatDateTime(ms));
    return { fromSeq, toSeq, fromMs, toMs, from: text(fromMs), to: text(toMs) };
  }

  /**
   * Decodes the first entries, in order, until their rows reach MAX_BATCH_ROWS (at least one
   * entry): a few payloads full of unknown keys must not make a batch of millions of error rows.
   */
  private decodeFirst(entries: JournalEntry[]): Decoded[] {
    const decoded: Decoded[] = [];
    let rows = 0;
    for (const entry of entries) {
      if (rows >= MAX_BATCH_ROWS) break;
      const d = decodeEntry(entry, this.catalog, this.opts);
      rows += d.mesures.length + d.errors.length;
      decoded.push(d);
    }
    return decoded;
  }

  private async decode(entries: JournalEntry[]): Promise<Decoded[]> {
    await this.catalog.refresh();
    const decoded = this.decodeFirst(entries);
    // A bac or sensor added in the web app a moment ago: look again before reporting it.
    if (decoded.some((d) => d.catalogMiss) && (await this.catalog.refresh(true))) {
      return this.decodeFirst(entries.slice(0, decoded.length));
    }
    return decoded;
  }

  /** The batch of the entries after `afterSeq`, decoded; undefined when there are none. */
  private async prepare(afterSeq: number): Promise<Prepared | undefined> {
    const entries = this.journal.read(afterSeq, this.opts.batchSize, MAX_BATCH_PAYLOAD_BYTES);
    if (entries.length === 0) return undefined;
    const decoded = await this.decode(entries);
    const last = entries[decoded.length - 1]!;
    return {
      entryCount: decoded.length,
      receivedUpTo: last.receivedAt,
      batch: {
        afterSeq,
        lastSeq: last.seq,
        mesures: decoded.flatMap((d): MesureRow[] => d.mesures),
        errors: decoded.flatMap((d): ErrorRow[] => d.errors),
        controllers: decoded.flatMap((d): ControllerEvent[] => (d.controller ? [d.controller] : [])),
      },
    };
  }

  /** Writes the batch to MySQL, then forgets its entries. */
  private async commitAndForget(prepared: Prepared): Promise<void> {
    const { batch } = prepared;
    await this.writeWithRetries(prepared);
    this.rowState = { journalId: this.journal.id, lastSeq: batch.lastSeq };
    this.journal.markCommitted(batch.lastSeq);
    this.positionMoves = 0;
    this.countRefill(batch);
    this.log.debug({ entries: prepared.entryCount, lastSeq: batch.lastSeq, mesures: batch.mesures.length }, 'batch committed');
  }

  /** Entries of a refill written by this batch; the end of a refill is logged. */
  private countRefill(batch: Batch): void {
    const refill = this.refill;
    if (!refill) return;
    const written = Math.min(batch.lastSeq, refill.upTo) - batch.afterSeq;
    refill.report.writtenAgain += written;
    this.observer.entriesWrittenAgain(written);
    if (batch.lastSeq < refill.upTo) return;
    this.refill = undefined;
    this.log.info({ entries: refill.report.writtenAgain }, recoveryText.refillDone(refill.report.writtenAgain));
  }

  /** Nothing to write: check the database still answers, and write due error summaries. */
  private async idleTick(): Promise<void> {
    this.journal.pruneIfDue();
    const batch = { afterSeq: this.committedSeq, lastSeq: this.committedSeq, mesures: [], errors: [], controllers: [] };
    await this.writeWithRetries({ batch, entryCount: 0, receivedUpTo: Date.now() });
  }

  /**
   * A deadlock, lock wait timeout or certification failure is tried again after a jittered
   * wait (a few times), a statement the server found too large again in smaller statements;
   * anything else goes up to the retry loop.
   */
  private async writeWithRetries(prepared: Prepared): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writeToDatabase(prepared);
        return;
      } catch (err) {
        const kind = classifyDbError(err);
        if (kind === 'conflict' && attempt <= CONFLICT_RETRIES && !this.stopped) {
          const waitMs = conflictBackoffMs(attempt);
          this.log.debug({ err: describeDbError(err), attempt, waitMs }, 'transaction conflict; trying again');
          this.observer.transactionConflict();
          await this.stopSignal.wait(waitMs);
          continue;
        }
        if (kind === 'packet' && this.writer.shrinkStatements()) continue;
        throw err;
      }
    }
  }

  private async writeToDatabase({ batch, entryCount, receivedUpTo }: Prepared): Promise<void> {
    const started = process.hrtime.bigint();
    const tx = this.limiter.begin();
    const limitErrors = (rows: ErrorRow[]) => [...tx.filter(rows), ...tx.flush(receivedUpTo)];
    let conn: Connection | undefined;
    try {
      conn = await this.pool.getConnection();
      const result = await this.writer.write(conn, batch, this.rowState, limitErrors);
      conn.release();
      conn = undefined;
      tx.commit();
      this.databaseAnswered();
      const errors: Partial<Record<ErrorType, number>> = {};
      for (const row of result.errors) errors[row.type] = (errors[row.type] ?? 0) + 1;
      this.logErrorKinds(result.errors);
      this.observer.batchCommitted({
        entries: entryCount,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        mesures: result.mesures,
        readings: batch.mesures,
        controllers: result.controllers,
        errors,
        suppressed: Object.fromEntries(tx.suppressedByType),
      });
    } catch (err) {
      // A connection that failed mid-transaction is not trusted again.
      conn?.destroy();
      throw err;
    }
  }

  /** One WARN line per error type and minute, with an example; each row at DEBUG. */
  private logErrorKinds(rows: ErrorRow[]): void {
    const now = monotonicMs();
    for (const row of rows) {
      this.log.debug({ type: row.type, topic: row.topic, message: row.message }, 'error row written');
      const loggedAt = this.errorKindLoggedAt.get(row.type);
      if (loggedAt !== undefined && now - loggedAt < ERROR_KIND_LOG_INTERVAL_MS) continue;
      this.errorKindLoggedAt.set(row.type, now);
      this.log.warn({ type: row.type, topic: row.topic, example: row.message }, 'error rows written (one line per type per minute)');
    }
  }

  /** A write committed: the database takes writes. */
  private databaseAnswered(): void {
    if (this.dbUp === true) return;
    const wasDown = this.dbUp === false;
    if (wasDown) this.log.info({ after: this.problem?.cause, downForMs: this.problem && Math.round(monotonicMs() - this.problem.sinceMonotonic) }, 'database takes writes again; writing the journal backlog');
    else this.log.info('database reachable');
    this.dbUp = true;
    this.problem = undefined;
    this.observer.databaseState(true, wasDown);
  }

  /** A failed batch: the local journal's own failure (disk full, I/O) or the database's. */
  private failed(err: unknown): void {
    if (this.journal.isOwnFailure(err)) {
      this.log.error({ err: errorMessage(err), code: (err as { code?: unknown }).code }, 'the local journal failed; retrying');
      return;
    }
    this.databaseFailed(err);
  }

  /**
   * Once per outage: a DB_ERROR entry (written to `error` in order when the database is back)
   * and a log line; another line when the cause turns into another kind (e.g. the server is back
   * but a grant is missing). A failure that every write will meet holds the journal: the log
   * says what to fix, and writing resumes by itself once it is fixed.
   */
  private databaseFailed(err: unknown): void {
    const cause = describeDbError(err);
    const kind = classifyDbError(err) === 'setup' ? 'setup' : 'unavailable';
    const fix = kind === 'setup' ? setupFix(err) : undefined;
    const newOutage = this.dbUp !== false;
    if (newOutage) {
      try {
        this.journal.appendEvent('db_error', `${cause} ; pont ${this.opts.clientId}`);
      } catch (journalErr) {
        this.log.error({ err: errorMessage(journalErr) }, 'the local journal could not record the outage');
      }
      this.catalog.invalidate();
      this.observer.databaseState(false, false);
    }
    const previous = this.problem;
    const began = newOutage || !previous ? { since: Date.now(), sinceMonotonic: monotonicMs() } : previous;
    this.problem = { kind, cause, fix, since: began.since, sinceMonotonic: began.sinceMonotonic };
    this.dbUp = false;
    if (!newOutage && previous?.kind === kind && previous.fix?.en === fix?.en) {
      this.log.debug({ err: cause }, 'database still unavailable');
    } else if (kind === 'setup') {
      this.log.error({ err: cause, fix: fix?.en, committedSeq: this.committedSeq }, 'the database refuses every write until this is fixed; entries stay in the journal and are written once it is');
    } else {
      this.log.warn({ err: cause, committedSeq: this.committedSeq }, 'database unavailable; entries stay in the journal and are retried');
    }
  }
}
