/**
 * Writes the older journals (older-journals.ts) to MySQL before the bridge's own drain starts,
 * each with a drain of its own under the client id its commits were recorded with, so that
 * exactly-once holds across the change of client id. New messages are still received and
 * stored meanwhile; they are written once the older entries are, so controller events stay in
 * the order they were received. The slot-<n> journals of a former shared group each hold every
 * controller event: their drains order those across journals as a shared group's instances do
 * (controller-writes.ts), so a controller ends in its last state whatever order they go in.
 */
import type { RowDataPacket } from 'mysql2';
import type { Pool } from '../db/pool.js';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { DatabaseProblem, RecoveryReport } from '../pipeline/drain.js';
import { Signal } from '../pipeline/signal.js';
import type { OlderJournal } from './older-journals.js';

/** What the handover needs of a drain (pipeline/drain.ts). */
export interface HandoverDrain {
  start(): void;
  stop(timeoutMs: number): Promise<boolean>;
  readonly dbConnected: boolean;
  readonly databaseProblem: DatabaseProblem | undefined;
  readonly recovery: RecoveryReport | undefined;
}

/** A drain of `older`'s view that writes under `clientId`. */
export type DrainFactory = (older: OlderJournal, clientId: string) => HandoverDrain;

const POLL_MS = 250;

interface Writing {
  older: OlderJournal;
  clientId: string;
  drain: HandoverDrain;
}

export class JournalHandover {
  private writing: Writing | undefined;
  private readonly written = new Set<OlderJournal>();
  private stopped = false;
  private done = false;
  private readonly wake = new Signal();
  private waitingLogged = false;
  private lastRecovery: RecoveryReport | undefined;

  constructor(
    private readonly older: OlderJournal[],
    private readonly pool: Pool,
    private readonly makeDrain: DrainFactory,
    private readonly clientId: string,
    private readonly log: Logger,
    private readonly retryDelayMs: number,
  ) {}

  /** True until every older journal is written (or the bridge stops). */
  get active(): boolean {
    return !this.done;
  }

  /** True once every older journal is written: the bridge's own entries may follow. */
  get allWritten(): boolean {
    return this.older.every((older) => this.written.has(older));
  }

  get dbConnected(): boolean {
    return this.writing?.drain.dbConnected ?? false;
  }

  /** What the drain of the journal being written, or of the last one, recovered (pipeline/recovery.ts). */
  get recovery(): RecoveryReport | undefined {
    return this.writing?.drain.recovery ?? this.lastRecovery;
  }

  /** Why the journal being written waits for the database, for /readyz and the status page. */
  get databaseProblem(): DatabaseProblem | undefined {
    return this.writing?.drain.databaseProblem;
  }

  /** Resolves once every older journal is written, or early when stopped. */
  async run(): Promise<void> {
    try {
      for (const older of this.older) {
        if (this.stopped) return;
        const clientId = await this.positionClientId(older);
        if (clientId === undefined) return;
        if (older.own && clientId === this.clientId) {
          older.finish(clientId);
          this.written.add(older);
          continue;
        }
        if (!(await this.write(older, clientId))) return;
      }
    } finally {
      this.done = true;
    }
  }

  /**
   * Stops the drain of the journal being written, which flushes it within the deadline; a
   * journal it wrote to the end counts as written. The others stay for the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.wake.notify();
    const writing = this.writing;
    this.writing = undefined;
    if (writing) {
      await writing.drain.stop(timeoutMs);
      if (writing.older.view.isEmpty()) this.finish(writing);
    }
    for (const older of this.older) if (!this.written.has(older)) older.release();
  }

  /** Writes one journal; false when stopped first. */
  private async write(older: OlderJournal, clientId: string): Promise<boolean> {
    this.log.info(
      { file: older.file, journalId: older.view.id, entries: older.entries, clientId, newClientId: this.clientId, sharedOrder: older.fromSharedGroup },
      'writing an older journal first, under the client id it was recorded with',
    );
    const writing = { older, clientId, drain: this.makeDrain(older, clientId) };
    this.writing = writing;
    writing.drain.start();
    while (!older.view.isEmpty()) {
      await this.wake.wait(POLL_MS);
      if (this.stopped) return false;
    }
    await writing.drain.stop(this.retryDelayMs + 5_000);
    if (this.stopped) return false; // stop() saw it out
    this.writing = undefined;
    this.finish(writing);
    return true;
  }

  /** Hands a journal written to the end over (once, whether run or stop saw it end). */
  private finish({ older, clientId, drain }: Writing): void {
    this.lastRecovery = drain.recovery ?? this.lastRecovery;
    if (this.written.has(older)) return;
    this.written.add(older);
    older.finish(this.clientId);
    this.log.info({ file: older.file, journalId: older.view.id, entries: older.entries, clientId }, 'older journal fully written');
  }
  /**
   * The client id of the position row that guards the journal's commits: the database knows
   * it best (the row with the journal's id and the highest sequence); else the id the journal
   * recorded; a journal never committed from may be written under any id. Undefined when
   * stopped while the database did not answer.
   */
  private async positionClientId(older: OlderJournal): Promise<string | undefined> {
    for (;;) {
      try {
        const [rows] = await this.pool.query<RowDataPacket[]>(
          'SELECT client_id FROM bridge_journal_position WHERE journal_id = ? ORDER BY last_seq DESC LIMIT 1',
          [older.view.id],
        );
        const fromDb = rows[0]?.client_id as string | undefined;
        return fromDb ?? older.recordedClientId ?? (older.own ? this.clientId : `journal-${older.view.id}`);
      } catch (err) {
        if (!this.waitingLogged) {
          this.log.warn({ err: errorMessage(err), file: older.file }, 'an older journal waits for the database; new messages are stored meanwhile');
          this.waitingLogged = true;
        }
        await this.wake.wait(this.retryDelayMs);
        if (this.stopped) return undefined;
      }
    }
  }
}
