/**
 * The orchestrator of a bridge serving several schools (SCHOOLS, docs/schools.md); app.ts is the
 * single-school one. Start: the schools' journals → their comparison with their databases →
 * broker → HTTP. Stop: broker first (no new messages), then every school's journal is flushed
 * within the deadline, then the rest closes.
 *
 * One MQTT connection and session for all the schools, with one memory of packet ids; per
 * school, everything else (school-pipeline.ts). A school's database down holds that school's
 * entries in its journal and nothing else: the bridge stays ready while one school's database
 * takes writes, and says which ones do not.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BridgeConfig } from '../config.js';
import { ClockSkewMonitor } from '../db/clock-skew.js';
import { errorMessage } from '../error-message.js';
import { HttpServer, type Readiness } from '../http/server.js';
import { JOURNAL_FILE, Journal } from '../journal/journal.js';
import { peekJournal } from '../journal/older-journals.js';
import { unreadableJournalFix } from '../journal/unreadable-journal.js';
import { ConnectionPackets } from '../journal/recent-packets.js';
import type { Logger } from '../logger.js';
import { Metrics, type JournalState } from '../metrics.js';
import { MqttSource } from '../mqtt/source.js';
import { READINGS_SUBSCRIPTION, readSessionFilters, schoolsSubscriptionRecord } from '../mqtt/subscription-record.js';
import { schoolSubscriptions, subscriptions } from '../mqtt/topics.js';
import { counterByLabel } from '../status/counter-values.js';
import { statusRoutes } from '../status/status-page.js';
import { StatusService, type SchoolStatus } from '../status/status-service.js';
import { SummaryLog } from '../status/summary-log.js';
import { ThroughputSampler } from '../status/throughput.js';
import { observeCertificates } from '../watch/certificate-expiry.js';
import { formatDateTime, monotonicMs } from '../time.js';
import { schoolOfDir, splitSchoolTopic } from './school-ids.js';
import { SchoolPipeline } from './school-pipeline.js';
import { SchoolRouter } from './school-router.js';
import { SharedConnections } from './shared-connections.js';
import { schoolSizing } from './sizing.js';

/** How long the start waits for the schools' databases to compare their journals before it receives. */
const COMPARE_BEFORE_RECEIVING_MS = 15_000;
const POOL_CLOSE_MS = 2_000;

export class SchoolsApp {
  readonly metrics = new Metrics(true, true);
  readonly throughput = new ThroughputSampler(this.metrics);
  /** Configured schools first, in SCHOOLS's order, then those removed from it still written. */
  readonly schools: SchoolPipeline[] = [];
  readonly source: MqttSource;
  readonly clockSkew: ClockSkewMonitor;
  private readonly connections: SharedConnections;
  private readonly summary: SummaryLog;
  private readonly startedAt = Date.now();
  private http: HttpServer | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(
    readonly config: BridgeConfig,
    readonly log: Logger,
  ) {
    const earlierFilters = singleSchoolFilters(config);
    const retired = schoolsToFinish(config, earlierFilters, log).filter((school) => !config.schools.includes(school));
    const sizing = schoolSizing(config.schools.length + retired.length, config.batchSize);
    const packets = new ConnectionPackets();
    this.connections = new SharedConnections(config.db, config.dbStatementTimeoutMs);
    try {
      [...config.schools, ...retired].forEach((ecole, index) => {
        const subscribed = index < config.schools.length;
        const deps = { config, connections: this.connections, metrics: this.metrics, packets: packets.forJournal(index), sizing, log };
        this.schools.push(new SchoolPipeline(ecole, subscribed, deps));
      });
    } catch (err) {
      for (const school of this.schools) school.journal.close();
      void this.connections.end();
      throw err;
    }
    packets.load(this.schools.map((school) => school.journal.newestPackets()));
    if (retired.length > 0) log.warn({ schools: retired }, 'schools no longer in SCHOOLS: what their journals hold, or their broker session still delivers, is written to their databases; they are no longer subscribed');
    this.source = new MqttSource(
      config.mqtt,
      new SchoolRouter(this.schools, log.child({ part: 'mqtt' })),
      {
        maxPayloadBytes: config.maxPayloadBytes,
        // Each school's share: a school whose database is down may use what the others do not.
        journalMaxBytes: config.journalMaxBytes * this.schools.length,
        subscriptions: schoolSubscriptions(config.schools, config.mqtt.sharedGroup),
        subscriptionRecord: schoolsSubscriptionRecord(config.dataDir, earlierFilters),
      },
      this.metrics,
      log.child({ part: 'mqtt' }),
    );
    // One server holds every school's database: one clock to compare with.
    this.clockSkew = new ClockSkewMonitor(
      this.connections.forDatabase(undefined),
      log.child({ part: 'clock' }),
      (seconds) => this.metrics.clockSkewSeconds.set(seconds),
      config.clockCheckIntervalMs,
    );
    this.metrics.observeJournal(() => this.journalState());
    this.metrics.observeSchools(() => this.schools.map((school) => ({ ecole: school.ecole, journal: school.journalState(this.source.overBudget), lastReceivedAt: school.lastReceivedAt })));
    this.metrics.observeReadiness(() => {
      const r = this.readiness();
      return r.mqtt && r.db && r.journalUnderBudget;
    });
    this.summary = new SummaryLog(this.metrics, () => this.journalState(), () => this.readiness(), log.child({ part: 'summary' }), config.summaryIntervalMs);
  }

  /** All the schools' journals together. */
  journalState(): JournalState {
    const total: JournalState = { entries: 0, bytes: 0, oldestAgeSeconds: 0, full: this.source.overBudget, retained: { entries: 0, bytes: 0, oldestAgeSeconds: 0 } };
    for (const school of this.schools) {
      const state = school.journalState(total.full);
      total.entries += state.entries;
      total.bytes += state.bytes;
      total.oldestAgeSeconds = Math.max(total.oldestAgeSeconds, state.oldestAgeSeconds);
      total.retained.entries += state.retained.entries;
      total.retained.bytes += state.retained.bytes;
      total.retained.oldestAgeSeconds = Math.max(total.retained.oldestAgeSeconds, state.retained.oldestAgeSeconds);
    }
    return total;
  }

  /**
   * Ready while the broker is connected, the journals are under their budget and at least one
   * school's database takes writes: one school's database down is that school's problem (its
   * entries wait in its journal), not a reason to take the whole bridge out of service.
   */
  readiness(): Readiness {
    const served = this.schools.filter((school) => school.subscribed);
    const dbDown = served.filter((school) => !school.dbState().connected).map((school) => school.ecole);
    return {
      mqtt: this.source.connected,
      db: dbDown.length < served.length,
      journalUnderBudget: !this.source.overBudget,
      schools: { total: served.length, dbDown },
    };
  }

  async schoolsStatus(now = Date.now()): Promise<SchoolStatus[]> {
    const rows = await counterByLabel(this.metrics.rowsWritten, 'ecole');
    return this.schools.map((school) => {
      const { connected, problem } = school.dbState();
      const recovery = school.recovery();
      return {
        ecole: school.ecole,
        subscribed: school.subscribed,
        database: {
          connected,
          problem: problem
            ? { cause: problem.cause, fix: problem.fix?.en ?? null, aFaire: problem.fix?.fr ?? null, since: new Date(problem.since).toISOString() }
            : null,
        },
        journal: school.journalState(this.source.overBudget, now),
        lastReceivedAt: school.lastReceivedAt === undefined ? null : formatDateTime(school.lastReceivedAt),
        lastReceivedAgeSeconds: school.lastReceivedAt === undefined ? null : Math.max(0, Math.round((now - school.lastReceivedAt) / 1000)),
        rowsWritten: rows.get(school.ecole) ?? 0,
        recovery: recovery ? { ...recovery, atText: formatDateTime(recovery.at) } : null,
      };
    });
  }

  async start(): Promise<void> {
    const { config } = this;
    this.log.info(
      {
        clientId: config.mqtt.clientId,
        broker: `${config.mqtt.host}:${config.mqtt.port}`,
        database: `${config.db.user}@${config.db.host}:${config.db.port}/${config.db.database}`,
        schools: config.schools.length,
        dataDir: config.dataDir,
        backlog: this.journalState().entries,
        connections: this.connections.size,
        timeZone: config.timeZone,
      },
      'parc-bridge starting for several schools',
    );
    observeCertificates(this.config.mqtt.tls, this.metrics, this.log);
    // Before the first PUBACK, each school's journal is compared with its database when it
    // answers in time; one that does not answer is compared later (as a single bridge does).
    const compared = Promise.all(this.schools.map((school) => school.start(this.log)));
    await Promise.race([compared, delay(COMPARE_BEFORE_RECEIVING_MS, undefined, { ref: false })]);
    this.clockSkew.start();
    this.source.start();
    await this.throughput.start();
    await this.summary.start();
    if (config.httpPort > 0) {
      const status = new StatusService({
        metrics: this.metrics,
        readiness: () => this.readiness(),
        journal: () => this.journalState(),
        throughput: this.throughput,
        clientId: config.mqtt.clientId,
        startedAt: this.startedAt,
        clock: () => this.clockSkew.state(),
        schools: () => this.schoolsStatus(),
      });
      const http = { host: config.httpHost, port: config.httpPort, token: config.httpToken, metricsAuth: config.httpMetricsAuth };
      this.http = new HttpServer(http, () => this.readiness(), this.metrics, this.log.child({ part: 'http' }), statusRoutes(status));
      await this.http.start();
    }
  }

  /** Idempotent; resolves true when everything received was written to the schools' databases. */
  stop(): Promise<boolean> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<boolean> {
    const started = monotonicMs();
    this.log.info({ timeoutMs: this.config.shutdownTimeoutMs }, 'stopping: no new messages, flushing the journals');
    await this.source.stop();
    this.throughput.stop();
    this.summary.stop();
    this.clockSkew.stop();
    const left = Math.max(1_000, this.config.shutdownTimeoutMs - (monotonicMs() - started));
    const flushed = await Promise.all(this.schools.map((school) => school.stop(left)));
    // A frozen server never answers QUIT: closing the connections must not hold the exit.
    await Promise.race([this.connections.end().catch(() => undefined), delay(POOL_CLOSE_MS, undefined, { ref: false })]);
    const waiting = this.schools.filter((_, i) => !flushed[i]).map((school) => ({ ecole: school.ecole, backlog: school.journal.backlogSize() }));
    for (const school of this.schools) school.journal.close();
    await this.http?.stop();
    if (waiting.length === 0) this.log.info({ ms: Math.round(monotonicMs() - started) }, "stopped; every school's journal fully written to its database");
    else this.log.warn({ waiting }, 'stopped before every journal was fully written; the rest is kept on disk for the next start');
    return waiting.length === 0;
  }
}

/**
 * What a single-school run on this DATA_DIR subscribed its session to (dropped at the first
 * connection). Its journal must be empty: its entries belong to a database that has no school.
 */
function singleSchoolFilters(config: BridgeConfig): string[] {
  if (!existsSync(join(config.dataDir, JOURNAL_FILE))) return [];
  const journal = new Journal(config.dataDir, config.journalSync);
  try {
    const waiting = journal.backlogSize().entries;
    if (waiting > 0) {
      throw new Error(
        `${journal.file} holds ${waiting} entries of a bridge without SCHOOLS, not yet written to its database: ` +
          'run that bridge (without SCHOOLS) until npm run doctor shows them written, or give this one another DATA_DIR',
      );
    }
    const readings = journal.setting(READINGS_SUBSCRIPTION);
    return readings ? [readings, ...subscriptions('').slice(1)] : [];
  } finally {
    journal.close();
  }
}

/**
 * Schools this bridge served before: those its broker session is still subscribed to, and
 * every one with a journal folder in DATA_DIR. Their queued messages may arrive at any later
 * connection (an unsubscription does not empty the broker's queue): each keeps its journal,
 * its drain and its database, so that none is acknowledged without being written.
 */
function schoolsToFinish(config: BridgeConfig, earlierFilters: string[], log: Logger): string[] {
  const found = new Set<string>();
  for (const filter of readSessionFilters(config.dataDir) ?? earlierFilters) {
    const school = splitSchoolTopic(filter.replace(/^\$share\/[^/]+\//, ''))?.school;
    if (school !== undefined) found.add(school);
  }
  let names: string[] = [];
  try {
    names = readdirSync(config.dataDir);
  } catch {
    // no DATA_DIR yet
  }
  for (const name of names.sort()) {
    const school = schoolOfDir(name);
    if (school === undefined || found.has(school) || config.schools.includes(school)) continue;
    // One another bridge holds is its own business (it fails this one's start if it is a SCHOOLS one).
    try {
      if (peekJournal(join(config.dataDir, name), config.journalSync) !== 'locked') found.add(school);
    } catch (err) {
      // A damaged journal of a school no longer served must not keep the others from starting.
      log.warn({ school, file: join(config.dataDir, name), err: errorMessage(err), fix: unreadableJournalFix(err) }, 'the journal of a school no longer served cannot be opened; the bridge starts without it');
    }
  }
  return [...found];
}
