/**
 * Writes the older journals (older-journals.ts) to MySQL before the bridge's own drain starts,
 * each with a drain of its own under the client id its commits were recorded with, so that
 * exactly-once holds across the change of client id. New messages are still received and
 * stored meanwhile; they are written once the older entries are (controller events stay in
 * the order they were received).
 */
import type { RowDataPacket } from 'mysql2';
import type { Pool } from '../db/pool.js';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import { Signal } from '../pipeline/signal.js';
import type { OlderJournal } from './older-journals.js';

/** What the handover needs of a drain (pipeline/drain.ts). */
export interface HandoverDrain {
  start(): void;
  stop(timeoutMs: number): Promise<boolean>;
  readonly dbConnected: boolean;
}

export type DrainFactory = (journal: DrainJournal, clientId: string) => HandoverDrain;

const POLL_MS = 250;

export class JournalHandover {
  private drain: HandoverDrain | undefined;
  private stopped = false;
  private done = false;
  private readonly wake = new Signal();
  private waitingLogged = false;

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

  get dbConnected(): boolean {
    return this.drain?.dbConnected ?? false;
  }

  /** Resolves once every older journal is written, or early when stopped. */
  async run(): Promise<void> {
    try {
      for (const older of this.older) {
        const clientId = await this.positionClientId(older);
        if (clientId === undefined) return;
        if (older.own && clientId === this.clientId) {
          older.finish(clientId);
          continue;
        }
        if (!(await this.write(older, clientId))) return;
      }
    } finally {
      this.done = true;
    }
  }

  /** Stops the drain of the journal being written, flushing it within the deadline. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.wake.notify();
    await this.drain?.stop(timeoutMs);
    this.drain = undefined;
    for (const older of this.older) older.release();
  }

  /** Writes one journal; false when stopped first. */
  private async write(older: OlderJournal, clientId: string): Promise<boolean> {
    this.log.info(
      { file: older.file, journalId: older.view.id, entries: older.entries, clientId, newClientId: this.clientId },
      'writing an older journal first, under the client id it was recorded with',
    );
    const drain = this.makeDrain(older.view, clientId);
    this.drain = drain;
    drain.start();
    while (!older.view.isEmpty()) {
      await this.wake.wait(POLL_MS);
      if (this.stopped) return false;
    }
    await drain.stop(this.retryDelayMs + 5_000);
    this.drain = undefined;
    older.finish(this.clientId);
    this.log.info({ file: older.file, journalId: older.view.id, entries: older.entries, clientId }, 'older journal fully written');
    return true;
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
