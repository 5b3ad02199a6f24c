/**
 * The orchestrator: owns the start and stop order of every part.
 * Start: journal → database pool and drain → broker → HTTP. Stop: broker first (no new
 * messages), then the drain flushes the journal within the deadline, then the rest closes.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { BridgeConfig } from './config.js';
import { CatalogCache } from './db/catalog.js';
import { ClockSkewMonitor } from './db/clock-skew.js';
import { createPool, createWriterPool, type Pool } from './db/pool.js';
import { HttpServer } from './http/server.js';
import type { Journal } from './journal/journal.js';
import { JournalHandover } from './journal/handover.js';
import { findOlderJournals } from './journal/older-journals.js';
import { openJournal } from './journal/slots.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { MqttSource } from './mqtt/source.js';
import { journalSubscriptionRecord } from './mqtt/subscription-record.js';
import { subscriptions } from './mqtt/topics.js';
import { Drain } from './pipeline/drain.js';
import type { DrainJournal } from './pipeline/drain-ports.js';
import { ErrorRateLimiter } from './pipeline/error-rate-limiter.js';
import { metricsObserver } from './pipeline/metrics-observer.js';
import { allObservers } from './pipeline/drain-ports.js';
import { counterByLabel } from './status/counter-values.js';
import { certificateCommonName } from './watch/certificate-cn.js';
import { GreenhouseWatch } from './watch/greenhouse-watch.js';
import { statusRoutes } from './status/status-page.js';
import { StatusService } from './status/status-service.js';
import { SummaryLog } from './status/summary-log.js';
import { ThroughputSampler } from './status/throughput.js';
import { observeCertificates } from './watch/certificate-expiry.js';
import { errorMessage } from './error-message.js';
import { monotonicMs } from './time.js';

/** How long the exit waits for the database connections to close. */
const POOL_CLOSE_MS = 2_000;

export class App {
  readonly metrics = new Metrics();
  readonly throughput = new ThroughputSampler(this.metrics);
  private readonly summary: SummaryLog;
  private readonly startedAt = Date.now();
  readonly journal: Journal;
  readonly pool: Pool;
  readonly drain: Drain;
  readonly source: MqttSource;
  /** Silent sensors and "no reading at all", fed by the drain's commits and the readings counter. */
  readonly watch: GreenhouseWatch;
  /** The bridge's clock against the database's: logged, a metric, and on the status page. */
  readonly clockSkew: ClockSkewMonitor;
  /** Journals left under another client id, written before this bridge's own (handover.ts). */
  private readonly handover: JournalHandover;
  /** The configuration with this instance's journal slot and client id filled in. */
  readonly config: BridgeConfig;
  private http: HttpServer | undefined;
  /** The status page's reads: their own connection, one statement per query (pool.ts). */
  private statusPool: Pool | undefined;
  private stopping: Promise<boolean> | undefined;
  private readonly ownPrefixPending: boolean;

  constructor(
    configured: BridgeConfig,
    readonly log: Logger,
  ) {
    const retention = { retainMs: configured.journalRetainMs, retainBytes: configured.journalRetainBytes, reserveBytes: configured.journalMaxBytes };
    const opened = openJournal(configured.dataDir, configured.mqtt.clientId, configured.journalSync, configured.mqtt.sharedGroup, { retention });
    const config = { ...configured, dataDir: opened.dataDir, mqtt: { ...configured.mqtt, clientId: opened.clientId } };
    this.config = config;
    this.journal = opened.journal;
    this.pool = createWriterPool(config.db, config.dbStatementTimeoutMs);
    this.clockSkew = new ClockSkewMonitor(
      this.pool,
      log.child({ part: 'clock' }),
      (seconds) => this.metrics.clockSkewSeconds.set(seconds),
      config.clockCheckIntervalMs,
    );
    this.watch = new GreenhouseWatch(
      {
        silenceAfterMs: config.silenceAfterMs,
        noReadingsWarnAfterMs: config.noReadingsWarnAfterMs,
        directoryRefreshMs: config.cacheTtlMs,
        certificateCn: config.mqtt.tls ? certificateCommonName(config.mqtt.tls.certFile) : undefined,
      },
      {
        pool: this.pool,
        subscribed: () => this.source.connected,
        readingsReceived: async () => (await counterByLabel(this.metrics.messagesReceived, 'kind')).get('bac') ?? 0,
        lagMs: () => {
          const oldest = this.journal.oldestReceivedAt();
          return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest);
        },
      },
      log.child({ part: 'watch' }),
    );
    // The bridge's own journal and the older ones it hands over are written by drains alike.
    const drainFor = (journal: DrainJournal, clientId: string, part: string, sharedOrder = false) => new Drain(
      journal,
      this.pool,
      new CatalogCache(this.pool, config.cacheTtlMs),
      new ErrorRateLimiter(config.errorRateLimitPerMinute, 60_000, config.errorBudgetPerMinute),
      allObservers(metricsObserver(this.metrics), this.watch.observer),
      log.child({ part }),
      {
        clientId,
        batchSize: config.batchSize,
        retryDelayMs: config.db.retryDelayMs,
        maxPayloadBytes: config.maxPayloadBytes,
        sharedControllerTopics: config.mqtt.sharedGroup !== '' || sharedOrder,
      },
    );
    this.drain = drainFor(this.journal, config.mqtt.clientId, 'drain');
    const found = findOlderJournals({
      dataDir: configured.dataDir,
      own: this.journal,
      clientId: config.mqtt.clientId,
      slotMode: opened.dataDir !== configured.dataDir,
      sync: configured.journalSync,
      retention,
      log: log.child({ part: 'handover' }),
    });
    // The own journal's entries recorded under another client id are handed over first, under
    // that id: until then the own position row does not guard them (older-journals.ts).
    this.ownPrefixPending = found.older.some((older) => older.own);
    this.handover = new JournalHandover(
      found.older,
      this.pool,
      // A former shared group's slot journals each hold every controller event: ordered across them.
      (older, clientId) => drainFor(older.view, clientId, 'handover', older.fromSharedGroup),
      config.mqtt.clientId,
      log.child({ part: 'handover' }),
      config.db.retryDelayMs,
    );
    this.source = new MqttSource(
      config.mqtt,
      this.journal,
      {
        maxPayloadBytes: config.maxPayloadBytes,
        journalMaxBytes: config.journalMaxBytes,
        subscriptions: subscriptions(config.mqtt.sharedGroup),
        subscriptionRecord: journalSubscriptionRecord(this.journal, config.dataDir),
      },
      this.metrics,
      log.child({ part: 'mqtt' }),
    );
    this.metrics.observeJournal(() => this.journalState());
    this.metrics.observeWatch(() => this.watch.metricsState());
    this.metrics.observeReadiness(() => {
      const r = this.readiness();
      return r.mqtt && r.db && r.journalUnderBudget;
    });
    this.summary = new SummaryLog(this.metrics, () => this.journalState(), () => this.readiness(), log.child({ part: 'summary' }), configured.summaryIntervalMs, () => this.watch.silentSensors);
  }

  journalState() {
    const backlog = this.journal.backlogSize();
    const oldest = this.journal.oldestReceivedAt();
    const retained = this.journal.retainedWindow();
    const age = (at: number | undefined) => (at === undefined ? 0 : Math.max(0, (Date.now() - at) / 1000));
    return {
      ...backlog,
      oldestAgeSeconds: age(oldest),
      full: this.source.overBudget,
      retained: { entries: retained.entries, bytes: retained.bytes, oldestAgeSeconds: age(retained.oldestReceivedAt) },
    };
  }

  /** The last time a journal and the database disagreed (pipeline/recovery.ts). */
  recovery() {
    const reports = [this.drain.recovery, this.handover.recovery].filter((r) => r !== undefined);
    return reports.sort((a, b) => b.at - a.at)[0];
  }

  readiness() {
    // During a handover the bridge's own drain has not started: the handover's drain tells.
    const problem = this.handover.active ? this.handover.databaseProblem : this.drain.databaseProblem;
    return {
      mqtt: this.source.connected,
      db: this.handover.active ? this.handover.dbConnected : this.drain.dbConnected,
      journalUnderBudget: !this.source.overBudget,
      // What stops the writes and what to do about it, for /readyz and the status page.
      ...(problem && { dbProblem: { cause: problem.cause, fix: problem.fix?.en ?? null, aFaire: problem.fix?.fr ?? null, since: new Date(problem.since).toISOString() } }),
    };
  }

  async start(): Promise<void> {
    const { config } = this;
    this.log.info(
      {
        clientId: config.mqtt.clientId,
        broker: `${config.mqtt.host}:${config.mqtt.port}`,
        database: `${config.db.user}@${config.db.host}:${config.db.port}/${config.db.database}`,
        dataDir: config.dataDir,
        journalId: this.journal.id,
        journalFormat: this.journal.openedFormat,
        backlog: this.journal.backlogSize(),
        retained: this.journal.retainedWindow(),
        timeZone: config.timeZone,
      },
      'parc-bridge starting',
    );
    observeCertificates(this.config.mqtt.tls, this.metrics, this.log);
    // Before the first PUBACK: a journal older than the database must number what it receives
    // after the database's position (pipeline/recovery.ts). A database that does not answer
    // does not hold the start: the drain compares once it answers.
    if (!this.ownPrefixPending) await this.drain.reconcileNow();
    if (this.stopping) return;
    // Older journals first; messages are received and stored meanwhile.
    void this.handover
      .run()
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'handing over older journals failed; writing the own journal'))
      .then(() => {
        if (!this.stopping) this.drain.start();
      });
    this.clockSkew.start();
    this.source.start();
    this.watch.start();
    await this.throughput.start();
    await this.summary.start();
    if (config.httpPort > 0) {
      this.statusPool = createPool(config.db, 1);
      const status = new StatusService({
        pool: this.statusPool,
        metrics: this.metrics,
        readiness: () => this.readiness(),
        journal: () => this.journalState(),
        throughput: this.throughput,
        clientId: config.mqtt.clientId,
        startedAt: this.startedAt,
        watch: () => this.watch.view(),
        clock: () => this.clockSkew.state(),
        recovery: () => this.recovery(),
      });
      const http = { host: config.httpHost, port: config.httpPort, token: config.httpToken, metricsAuth: config.httpMetricsAuth };
      this.http = new HttpServer(http, () => this.readiness(), this.metrics, this.log.child({ part: 'http' }), statusRoutes(status));
      await this.http.start();
    }
  }

  /** Idempotent; resolves true when everything received was written to MySQL. */
  stop(): Promise<boolean> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<boolean> {
    const started = monotonicMs();
    this.log.info({ timeoutMs: this.config.shutdownTimeoutMs }, 'stopping: no new messages, flushing the journal');
    await this.source.stop();
    this.throughput.stop();
    this.summary.stop();
    await this.watch.stop();
    this.clockSkew.stop();
    // The older journal being written is flushed first; once all are, the own journal follows.
    await this.handover.stop(Math.max(1_000, this.config.shutdownTimeoutMs - (monotonicMs() - started)));
    const olderWritten = this.handover.allWritten;
    if (olderWritten) this.drain.start();
    const flushed = (await this.drain.stop(Math.max(1_000, this.config.shutdownTimeoutMs - (monotonicMs() - started)))) && olderWritten;
    // A frozen server never answers QUIT: closing the pools must not hold the exit.
    const poolsClosed = Promise.all([this.pool.end(), this.statusPool?.end()]).catch(() => undefined);
    await Promise.race([poolsClosed, delay(POOL_CLOSE_MS, undefined, { ref: false })]);
    const backlog = this.journal.backlogSize();
    this.journal.close();
    await this.http?.stop();
    if (flushed) this.log.info({ ms: Math.round(monotonicMs() - started) }, 'stopped; journal fully written to the database');
    else this.log.warn({ backlog }, 'stopped before the journal was fully written; the rest is kept on disk for the next start');
    return flushed;
  }
}
