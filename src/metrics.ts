import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the greenhouse watch reports, read at scrape time. */
export interface WatchState {
  silent: number;
  subscribedWithoutReadingsSeconds: number;
  /** Every watched sensor of a bac and capteur still in the database. */
  forEachSensor(visit: (serre: number, bac: number, capteur: string, lastReadingAtMs: number) => void): void;
}

export interface JournalState {
  entries: number;
  bytes: number;
  oldestAgeSeconds: number;
  full: boolean;
  /** Committed entries kept to refill a database that goes back (retention). */
  retained: { entries: number; bytes: number; oldestAgeSeconds: number };
}

/** One school's journal, for the per-school series (school mode, docs/schools.md). */
export interface SchoolJournalState {
  ecole: string;
  journal: JournalState;
  /** When the school's last message was received (epoch ms); undefined: none since the start. */
  lastReceivedAt: number | undefined;
}

type JournalGauge = Gauge<'ecole'>;

/**
 * Every metric of the bridge, in one registry, so that modules share names and labels. A bridge
 * serving several schools labels what is per school with `ecole`; a single-school bridge's series
 * have no such label, as before.
 */
export class Metrics {
  readonly registry = new Registry();
  private journalProbe: (() => JournalState) | undefined;
  private schoolsProbe: (() => SchoolJournalState[]) | undefined;
  private watchProbe: (() => WatchState) | undefined;
  private readyProbe: (() => boolean) | undefined;

  /** The greenhouse watch's gauges read their value at scrape time from this probe. */
  observeWatch(probe: () => WatchState): void {
    this.watchProbe = probe;
  }

  /** `parc_bridge_ready` reads what /readyz would answer at scrape time. */
  observeReadiness(probe: () => boolean): void {
    this.readyProbe = probe;
  }

  /** The journal gauges read their value at scrape time from this probe. */
  observeJournal(probe: () => JournalState): void {
    this.journalProbe = probe;
  }

  /** School mode: the journal gauges, but `full`, have one series per school, read from this probe. */
  observeSchools(probe: () => SchoolJournalState[]): void {
    this.schoolsProbe = probe;
  }

  private journal(): JournalState | undefined {
    return this.journalProbe?.();
  }

  /** A gauge of the journal read at scrape time: one series per school in school mode, else one without label. */
  private journalGauge(name: string, help: string, value: (state: JournalState) => number): JournalGauge {
    const metrics = this;
    return new Gauge({
      name,
      help,
      labelNames: ['ecole'] as const,
      registers: [this.registry],
      collect() {
        metrics.collectJournal(this, value);
      },
    });
  }

  private collectJournal(gauge: JournalGauge, value: (state: JournalState) => number): void {
    const schools = this.schoolsProbe?.();
    if (schools) {
      gauge.reset();
      for (const school of schools) gauge.set({ ecole: school.ecole }, value(school.journal));
      return;
    }
    const state = this.journal();
    if (state) gauge.set(value(state));
  }

  readonly messagesReceived = new Counter({
    name: 'parc_bridge_messages_received_total',
    help: 'MQTT messages stored in the local journal, by topic kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly duplicatesSkipped = new Counter({
    name: 'parc_bridge_duplicates_skipped_total',
    help: 'Redelivered MQTT messages (DUP flag) recognised as already stored',
    registers: [this.registry],
  });
  readonly retainedSkipped = new Counter({
    name: 'parc_bridge_retained_replays_skipped_total',
    help: 'Messages delivered with the retain flag (a replay of the broker\'s retained store at subscribe), not stored again',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly messagesRefused = new Counter({
    name: 'parc_bridge_messages_refused_total',
    help: 'Messages refused while paused or stopping, by delivered QoS (QoS 1 is redelivered by the broker; QoS 0 is lost)',
    labelNames: ['qos'] as const,
    registers: [this.registry],
  });
  readonly rowsWritten = new Counter({
    name: 'parc_bridge_rows_written_total',
    help: 'Rows committed to MySQL, by table (and school)',
    labelNames: ['table', 'ecole'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'parc_bridge_errors_total',
    help: 'Error rows produced, by type_erreur (and school; including those the rate limiter summarised)',
    labelNames: ['type', 'ecole'] as const,
    registers: [this.registry],
  });
  readonly errorsSuppressed = new Counter({
    name: 'parc_bridge_errors_suppressed_total',
    help: 'Error rows not written individually by the rate limiter, by type_erreur (and school)',
    labelNames: ['type', 'ecole'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'parc_bridge_batch_entries',
    help: 'Journal entries per MySQL transaction',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'parc_bridge_commit_seconds',
    help: 'Time to write and commit one batch to MySQL',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly journalEntries = this.journalGauge(
    'parc_bridge_journal_backlog_entries',
    'Entries in the local journal not yet committed to MySQL',
    (state) => state.entries,
  );
  readonly journalBytes = this.journalGauge(
    'parc_bridge_journal_backlog_bytes',
    'Approximate bytes of the local journal backlog',
    (state) => state.bytes,
  );
  readonly journalOldestAge = this.journalGauge(
    'parc_bridge_journal_oldest_age_seconds',
    'Age of the oldest entry waiting in the local journal (0 when empty)',
    (state) => state.oldestAgeSeconds,
  );
  readonly journalFull = new Gauge({
    name: 'parc_bridge_journal_full',
    help: '1 while the journal is over its disk budget and the bridge stops acknowledging messages',
    registers: [this.registry],
    collect: () => {
      const state = this.journal();
      if (state) this.journalFull.set(state.full ? 1 : 0);
    },
  });
  readonly journalRetainedSeconds = this.journalGauge(
    'parc_bridge_journal_retained_seconds',
    'How far back the journal can refill a database restored from a backup: age of the oldest committed entry it keeps (JOURNAL_RETAIN)',
    (state) => state.retained.oldestAgeSeconds,
  );
  readonly journalRetainedBytes = this.journalGauge(
    'parc_bridge_journal_retained_bytes',
    'Approximate bytes of the committed entries the journal keeps to refill a restored database (JOURNAL_RETAIN_BYTES)',
    (state) => state.retained.bytes,
  );
  readonly journalRetainedEntries = this.journalGauge(
    'parc_bridge_journal_retained_entries',
    'Committed entries the journal keeps to refill a restored database',
    (state) => state.retained.entries,
  );
  readonly entriesWrittenAgain = new Counter({
    name: 'parc_bridge_entries_written_again_total',
    help: 'Journal entries written again because the database went back (restored from a backup, failed over to a replica that lagged)',
    labelNames: ['ecole'] as const,
    registers: [this.registry],
  });
  readonly entriesNotRefilled = new Counter({
    name: 'parc_bridge_entries_not_refilled_total',
    help: 'Journal entries a database that went back lost and the journal no longer retained (past JOURNAL_RETAIN): missing from the database',
    registers: [this.registry],
  });
  readonly transactionConflicts = new Counter({
    name: 'parc_bridge_transaction_conflicts_total',
    help: 'Batch transactions that conflicted (deadlock, lock wait timeout, Galera certification failure) and were tried again after a jittered wait',
    registers: [this.registry],
  });
  readonly mqttConnected = new Gauge({
    name: 'parc_bridge_mqtt_connected',
    help: '1 when connected and subscribed to the broker',
    registers: [this.registry],
  });
  readonly dbConnected = new Gauge({
    name: 'parc_bridge_db_connected',
    help: '1 when the last database operation succeeded (per school in school mode)',
    labelNames: ['ecole'] as const,
    registers: [this.registry],
  });
  readonly mqttReconnects = new Counter({
    name: 'parc_bridge_mqtt_reconnects_total',
    help: 'Connection attempts to the broker after the first',
    registers: [this.registry],
  });
  readonly dbReconnects = new Counter({
    name: 'parc_bridge_db_reconnects_total',
    help: 'Database outages that ended (the database came back)',
    labelNames: ['ecole'] as const,
    registers: [this.registry],
  });
  readonly clockSkewSeconds = new Gauge({
    name: 'parc_bridge_clock_skew_seconds',
    help: "The bridge's clock minus the database server's, at the last check (over 60 s either way, receipt times disagree with NOW())",
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'parc_bridge_ready',
    help: '1 when /readyz answers 200: broker and database connected, journal under its budget',
    registers: [this.registry],
    collect: () => {
      const ready = this.readyProbe?.();
      if (ready !== undefined) this.ready.set(ready ? 1 : 0);
    },
  });
  readonly sensorLastReading = new Gauge({
    name: 'parc_bridge_sensor_last_reading_timestamp_seconds',
    help: 'Unix time of the last reading of a sensor (serre and bac numero, capteur type); a removed bac or capteur has no series',
    labelNames: ['serre', 'bac', 'capteur'] as const,
    registers: [this.registry],
    collect: () => {
      const state = this.watchProbe?.();
      if (!state) return;
      this.sensorLastReading.reset();
      state.forEachSensor((serre, bac, capteur, at) => this.sensorLastReading.set({ serre, bac, capteur }, at / 1000));
    },
  });
  readonly sensorsSilent = new Gauge({
    name: 'parc_bridge_sensors_silent',
    help: 'Sensors with no reading for longer than SILENCE_AFTER',
    registers: [this.registry],
    collect: () => {
      const state = this.watchProbe?.();
      if (state) this.sensorsSilent.set(state.silent);
    },
  });
  readonly subscribedWithoutReadings = new Gauge({
    name: 'parc_bridge_subscribed_without_readings_seconds',
    help: 'Seconds since the last reading on serre/+/bac/+ while subscribed (counted from the subscription when none came since; 0 while not subscribed)',
    registers: [this.registry],
    collect: () => {
      const state = this.watchProbe?.();
      if (state) this.subscribedWithoutReadings.set(state.subscribedWithoutReadingsSeconds);
    },
  });
  readonly lastMessageReceived = new Gauge({
    name: 'parc_bridge_last_message_received_timestamp_seconds',
    help: "School mode: Unix time of the last message received from a school's broker (none yet since the start: no series)",
    labelNames: ['ecole'] as const,
    registers: [this.registry],
    collect: () => {
      const schools = this.schoolsProbe?.();
      if (!schools) return;
      this.lastMessageReceived.reset();
      for (const s of schools) if (s.lastReceivedAt !== undefined) this.lastMessageReceived.set({ ecole: s.ecole }, s.lastReceivedAt / 1000);
    },
  });
  readonly certificateExpiryDays = new Gauge({
    name: 'parc_bridge_certificate_expiry_days',
    help: 'Days until a certificate expires (negative when expired)',
    labelNames: ['certificate'] as const,
    registers: [this.registry],
  });

  /**
   * `perSchool`: the bridge serves several schools; its per-school series are made per school
   * (startSchool). Otherwise they have no label and read 0 from the start, as they always did.
   */
  constructor(withProcessMetrics = true, perSchool = false) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'parc_bridge_' });
    if (!perSchool) this.startSeries({});
  }

  /**
   * The metrics as one school's drain reports them (pipeline/metrics-observer.ts): the series
   * per school get its `ecole` label, the rest (batch sizes, commit times) are the bridge's.
   */
  forSchool(ecole: string): Metrics {
    const view = Object.create(this) as Metrics;
    const withSchool = (args: unknown[]) => (typeof args[0] === 'object' && args[0] !== null ? [{ ...args[0], ecole }, ...args.slice(1)] : [{ ecole }, ...args]);
    for (const name of ['rowsWritten', 'errors', 'errorsSuppressed', 'entriesWrittenAgain', 'dbConnected', 'dbReconnects'] as const) {
      const metric = this[name] as unknown as Record<'inc' | 'set', (...args: unknown[]) => void>;
      const labelled = Object.create(metric) as typeof metric;
      labelled.inc = (...args) => metric.inc(...withSchool(args));
      if (typeof metric.set === 'function') labelled.set = (...args) => metric.set(...withSchool(args));
      Object.defineProperty(view, name, { value: labelled });
    }
    return view;
  }

  /** A school's series at 0 from the start, as a single-school bridge's are. */
  startSchool(ecole: string): void {
    this.startSeries({ ecole });
  }

  private startSeries(labels: { ecole?: string }): void {
    this.dbConnected.set(labels, 0);
    this.dbReconnects.inc(labels, 0);
    this.entriesWrittenAgain.inc(labels, 0);
    if (labels.ecole !== undefined) return; // the journal gauges are read per school at scrape time
    for (const gauge of [this.journalEntries, this.journalBytes, this.journalOldestAge, this.journalRetainedSeconds, this.journalRetainedBytes, this.journalRetainedEntries]) gauge.set(0);
  }
}
