/**
 * One school's own state in a bridge serving several (docs/schools.md): its journal in
 * DATA_DIR/ecole-<id>/, a drain writing to its database only, with its own position row there,
 * catalog cache and error rate limiter. Nothing is shared with another school but the MQTT
 * connection and the database connections, so readings of two schools never mix and
 * exactly-once holds per school. Journals this school left under another client id are handed
 * over first, as the single-school bridge does (journal/handover.ts).
 */
import type { BridgeConfig } from '../config.js';
import { CatalogCache } from '../db/catalog.js';
import type { Pool } from '../db/pool.js';
import { errorMessage } from '../error-message.js';
import { JournalHandover } from '../journal/handover.js';
import { Journal } from '../journal/journal.js';
import { findOlderJournals } from '../journal/older-journals.js';
import type { PacketMemory } from '../journal/recent-packets.js';
import type { Logger } from '../logger.js';
import type { JournalState, Metrics } from '../metrics.js';
import { Drain, type DatabaseProblem, type RecoveryReport } from '../pipeline/drain.js';
import type { DrainJournal } from '../pipeline/drain-ports.js';
import { ErrorRateLimiter } from '../pipeline/error-rate-limiter.js';
import { metricsObserver } from '../pipeline/metrics-observer.js';
import { schoolDatabase, schoolDataDir } from './school-ids.js';
import type { SharedConnections } from './shared-connections.js';
import type { SchoolSizing } from './sizing.js';

/** An idle school's drain checks its database this often (one bridge: every 5 s). */
const IDLE_CHECK_MS = 30_000;

export interface SchoolDeps {
  config: BridgeConfig;
  connections: SharedConnections;
  metrics: Metrics;
  /** The MQTT connection's memory of packet ids, as this school's journal sees it. */
  packets: PacketMemory;
  sizing: SchoolSizing;
  log: Logger;
}

export class SchoolPipeline {
  readonly database: string;
  readonly journal: Journal;
  readonly pool: Pool;
  /** When its last message was received (epoch ms); undefined: none since the start. */
  lastReceivedAt: number | undefined;
  private readonly drain: Drain;
  private readonly handover: JournalHandover;
  private readonly ownPrefixPending: boolean;
  private stopping = false;

  /** `subscribed`: in SCHOOLS; else a school removed from it whose journal is still written. */
  constructor(
    readonly ecole: string,
    readonly subscribed: boolean,
    deps: SchoolDeps,
  ) {
    const { config, sizing } = deps;
    const log = deps.log.child({ ecole });
    const dataDir = schoolDataDir(config.dataDir, ecole);
    const retention = { retainMs: config.journalRetainMs, retainBytes: config.journalRetainBytes, reserveBytes: config.journalMaxBytes };
    this.journal = new Journal(dataDir, config.journalSync, {
      retention,
      tailLimits: sizing.tailLimits,
      packets: deps.packets,
      cacheKiB: sizing.cacheKiB,
      checkpointBytes: sizing.checkpointBytes,
    });
    this.database = schoolDatabase(config.db.database, ecole);
    this.pool = deps.connections.forDatabase(this.database);
    const clientId = config.mqtt.clientId;
    const drainFor = (journal: DrainJournal, positionClientId: string, part: string, sharedOrder = false) =>
      new Drain(
        journal,
        this.pool,
        new CatalogCache(this.pool, config.cacheTtlMs),
        new ErrorRateLimiter(config.errorRateLimitPerMinute, 60_000, config.errorBudgetPerMinute),
        metricsObserver(deps.metrics.forSchool(ecole)),
        log.child({ part }),
        {
          clientId: positionClientId,
          batchSize: sizing.batchSize,
          retryDelayMs: config.db.retryDelayMs,
          maxPayloadBytes: config.maxPayloadBytes,
          sharedControllerTopics: config.mqtt.sharedGroup !== '' || sharedOrder,
          pingIntervalMs: IDLE_CHECK_MS,
        },
      );
    this.drain = drainFor(this.journal, clientId, 'drain');
    const found = findOlderJournals({ dataDir, own: this.journal, clientId, slotMode: false, sync: config.journalSync, retention, log: log.child({ part: 'handover' }) });
    this.ownPrefixPending = found.older.some((older) => older.own);
    this.handover = new JournalHandover(
      found.older,
      this.pool,
      (older, positionClientId) => drainFor(older.view, positionClientId, 'handover', older.fromSharedGroup),
      clientId,
      log.child({ part: 'handover' }),
      config.db.retryDelayMs,
    );
    deps.metrics.startSchool(ecole);
  }

  /**
   * Compares the journal with the database (before the first PUBACK when it answers, as the
   * single-school bridge does), then writes: older journals first, then its own. Resolves once
   * compared, or once the database did not answer (the drain compares when it does).
   */
  start(log: Logger): Promise<void> {
    const compared = this.ownPrefixPending ? Promise.resolve(false) : this.drain.reconcileNow();
    void compared
      .then(() => this.handover.run())
      .catch((err: unknown) => log.error({ ecole: this.ecole, err: errorMessage(err) }, 'handing over older journals failed; writing the own journal'))
      .then(() => {
        if (!this.stopping) this.drain.start();
      });
    return compared.then(() => undefined);
  }

  /** Flushes within the deadline; true when everything received was written. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1_000, deadline - Date.now());
    await this.handover.stop(left());
    const olderWritten = this.handover.allWritten;
    if (olderWritten) this.drain.start();
    return (await this.drain.stop(left())) && olderWritten;
  }

  /** Whether its database takes writes, and if not why (a handover's drain tells while it runs). */
  dbState(): { connected: boolean; problem: DatabaseProblem | undefined } {
    return this.handover.active
      ? { connected: this.handover.dbConnected, problem: this.handover.databaseProblem }
      : { connected: this.drain.dbConnected, problem: this.drain.databaseProblem };
  }

  recovery(): RecoveryReport | undefined {
    return this.handover.active ? (this.handover.recovery ?? this.drain.recovery) : this.drain.recovery;
  }

  journalState(full: boolean, now = Date.now()): JournalState {
    const age = (at: number | undefined) => (at === undefined ? 0 : Math.max(0, (now - at) / 1000));
    const retained = this.journal.retainedWindow();
    return {
      ...this.journal.backlogSize(),
      oldestAgeSeconds: age(this.journal.oldestReceivedAt()),
      full,
      retained: { entries: retained.entries, bytes: retained.bytes, oldestAgeSeconds: age(retained.oldestReceivedAt) },
    };
  }
}
