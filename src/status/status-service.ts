/**
 * What the status page shows, gathered in one snapshot: connection states, the local backlog,
 * throughput, the greenhouse watch (bacs, silent sensors; held in memory), and from the database
 * the controllers and the last errors. The database part is best effort: when it is down or
 * slow, those two lists come back as null with a reason and the rest of the snapshot is still
 * served — that is exactly when the team needs the page. Nothing served names the database
 * account (redact.ts): the page may be open to the whole network.
 */
import { CLOCK_SKEW_LIMIT_SECONDS, type ClockSkewState } from '../db/clock-skew.js';
import type { RowDataPacket } from 'mysql2';
import type { DbProblemView, Readiness } from '../http/server.js';
import { publicDbProblem, redactNullable, redactSecrets } from '../http/redact.js';
import type { JournalState, Metrics } from '../metrics.js';
import type { Connection, Pool } from '../db/pool.js';
import { formatDateTime } from '../time.js';
import type { RecoveryReport } from '../pipeline/drain.js';
import type { BacsView, ReadingsView, WatchView } from '../watch/watch-view.js';
import { counterTotal } from './counter-values.js';
import type { ThroughputSample, ThroughputSampler } from './throughput.js';

export const ERRORS_SHOWN = 20;
export const VALEUR_SHOWN_CHARS = 200;
const MESSAGE_SHOWN_CHARS = 1000;
/** A controller fleet is a few dozen boards; the bound only protects the page. */
const CONTROLLERS_SHOWN = 500;
const DB_READ_TIMEOUT_MS = 2_000;

/** One school of a bridge serving several (docs/schools.md), as the page shows it. */
export interface SchoolStatus {
  ecole: string;
  /** In SCHOOLS; false: removed from it, its journal still written. */
  subscribed: boolean;
  database: { connected: boolean; problem: DbProblemView | null };
  journal: JournalState;
  /** When its last message was received, in the bridge's zone; null: none since the start. */
  lastReceivedAt: string | null;
  lastReceivedAgeSeconds: number | null;
  /** Rows committed to its database since the start. */
  rowsWritten: number;
  recovery: (RecoveryReport & { atText: string }) | null;
}

export interface StatusDeps {
  /** The database the controllers and errors are read from; none when serving several schools. */
  pool?: Pool;
  metrics: Metrics;
  readiness: () => Readiness;
  journal: () => JournalState;
  throughput: ThroughputSampler;
  clientId: string;
  startedAt: number;
  /** The greenhouse watch (silent sensors, no readings at all); absent, both parts are null. */
  watch?: () => WatchView;
  /** The bridge's clock against the database's (db/clock-skew.ts); absent, `clock` is null. */
  clock?: () => ClockSkewState;
  /** The last time the journal and the database disagreed (pipeline/recovery.ts). */
  recovery?: () => RecoveryReport | undefined;
  /** School mode: each school's state (its problem not yet redacted). */
  schools?: () => Promise<SchoolStatus[]>;
  now?: () => number;
  dbReadTimeoutMs?: number;
}

export interface ControllerStatus {
  mac: string;
  nom: string;
  ip: string | null;
  online: boolean;
  /** When the bridge received the event that set the current state, in the bridge's zone. */
  lastChangeAt: string | null;
  lastChangeAgeSeconds: number | null;
}

export interface ErrorStatus {
  id: number;
  type: string;
  message: string;
  /** Cut to VALEUR_SHOWN_CHARS characters; `valeurTruncated` says when. */
  valeur: string | null;
  valeurTruncated: boolean;
  /** `erreur_a` as stored (DATETIME in the bridge's zone). */
  at: string;
}

export interface StatusSnapshot {
  generatedAt: string;
  clientId: string;
  uptimeSeconds: number;
  ready: boolean;
  broker: { connected: boolean; reconnects: number };
  database: { connected: boolean; reconnects: number };
  /** Why the database takes no writes and what to do (a grant, a table, read-only, unreachable). */
  dbProblem: DbProblemView | null;
  /** Bridge clock minus the database's, and whether that is over the limit (60 s). */
  clock: { skewSeconds: number; overLimit: boolean; limitSeconds: number } | null;
  journal: JournalState & { underBudget: boolean };
  /** The database went back (restored, failed over) or the journal was older: what was done. */
  recovery: (RecoveryReport & { atText: string }) | null;
  totals: { received: number; written: number; errors: number };
  throughput: { intervalSeconds: number; windowSeconds: number; samples: ThroughputSample[]; current: ThroughputSample | null };
  controllers: ControllerStatus[] | null;
  /** Why `controllers` is null, in French for the page. */
  controllersUnavailable: string | null;
  errors: ErrorStatus[] | null;
  errorsUnavailable: string | null;
  /** « Bacs »: each serre, its bacs and the last reading of each sensor. */
  bacs: BacsView | null;
  /** Whether readings arrive at all while subscribed. */
  readings: ReadingsView | null;
  /** Serving several schools: each one; null for a single-school bridge. */
  schools: SchoolStatus[] | null;
}

interface DbLists {
  controllers: ControllerStatus[] | null;
  controllersUnavailable: string | null;
  errors: ErrorStatus[] | null;
  errorsUnavailable: string | null;
}

const CONTROLLERS_SQL =
  'SELECT c.id_controleur AS mac, c.nom, c.ip, c.status, e.last_event_ms AS lastEventMs ' +
  'FROM controleur c LEFT JOIN bridge_controleur_event e ON e.id_controleur = c.id_controleur ' +
  `ORDER BY c.nom, c.id_controleur LIMIT ${CONTROLLERS_SHOWN}`;

// LEFT() counts characters and is done by the server, so a huge payload is never transferred.
const ERRORS_SQL =
  'SELECT id_error AS id, type_erreur AS type, LEFT(message, ?) AS message, ' +
  'LEFT(valeur, ?) AS valeur, CHAR_LENGTH(valeur) > ? AS valeurTruncated, erreur_a AS at ' +
  'FROM error ORDER BY id_error DESC LIMIT ?';

export class StatusService {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  /**
   * The database read in progress, shared by every request meanwhile: however many browsers
   * refresh, the page runs one read at a time on its own one-connection pool.
   */
  private inFlight: Promise<DbLists> | undefined;

  constructor(private readonly deps: StatusDeps) {
    this.now = deps.now ?? Date.now;
    this.timeoutMs = deps.dbReadTimeoutMs ?? DB_READ_TIMEOUT_MS;
  }

  private clock(): StatusSnapshot['clock'] {
    const state = this.deps.clock?.();
    if (state?.skewSeconds === undefined) return null;
    return { skewSeconds: Math.round(state.skewSeconds * 10) / 10, overLimit: state.overLimit, limitSeconds: CLOCK_SKEW_LIMIT_SECONDS };
  }

  async snapshot(): Promise<StatusSnapshot> {
    const { deps } = this;
    const now = this.now();
    const readiness = deps.readiness();
    const journal = deps.journal();
    const watch = deps.watch?.();
    const [lists, totals, current, brokerReconnects, dbReconnects, schools] = await Promise.all([
      // Writes held for a grant or a table (a fix is known): the server answers, reads may work.
      deps.pool ? this.dbLists(deps.pool, readiness.db || Boolean(readiness.dbProblem?.fix), now) : unavailable("plusieurs écoles : voir l'application web de chaque école"),
      this.totals(),
      deps.throughput.current(),
      counterTotal(deps.metrics.mqttReconnects),
      counterTotal(deps.metrics.dbReconnects),
      deps.schools?.(),
    ]);
    return {
      generatedAt: formatDateTime(now),
      clientId: deps.clientId,
      uptimeSeconds: Math.max(0, Math.round((now - deps.startedAt) / 1000)),
      ready: readiness.mqtt && readiness.db && readiness.journalUnderBudget,
      broker: { connected: readiness.mqtt, reconnects: brokerReconnects },
      database: { connected: readiness.db, reconnects: dbReconnects },
      dbProblem: publicDbProblem(readiness.dbProblem),
      clock: this.clock(),
      journal: { ...journal, underBudget: readiness.journalUnderBudget },
      recovery: this.recovery(),
      totals,
      throughput: {
        intervalSeconds: deps.throughput.intervalMs / 1000,
        windowSeconds: (deps.throughput.intervalMs * deps.throughput.capacity) / 1000,
        samples: deps.throughput.samples(),
        current: current ?? null,
      },
      ...lists,
      bacs: watch?.bacs ?? null,
      readings: watch?.readings ?? null,
      schools: schools?.map((school) => ({ ...school, database: { ...school.database, problem: publicDbProblem(school.database.problem ?? undefined) } })) ?? null,
    };
  }

  private recovery(): StatusSnapshot['recovery'] {
    const report = this.deps.recovery?.();
    return report ? { ...report, lost: report.lost && { ...report.lost }, atText: formatDateTime(report.at) } : null;
  }

  private async totals(): Promise<StatusSnapshot['totals']> {
    const m = this.deps.metrics;
    const [received, written, errors] = await Promise.all([
      counterTotal(m.messagesReceived),
      counterTotal(m.rowsWritten),
      counterTotal(m.errors),
    ]);
    return { received, written, errors };
  }

  private async dbLists(pool: Pool, dbAnswers: boolean, now: number): Promise<DbLists> {
    // The drain is the authority on the database: while it sees it unreachable, a connect attempt
    // per page refresh would only add load and wait for the connect timeout.
    if (!dbAnswers) return unavailable('base de données déconnectée');
    const read = (this.inFlight ??= this.readLists(pool, now).finally(() => (this.inFlight = undefined)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<DbLists>((resolve) => {
      timer = setTimeout(() => resolve(unavailable('la base de données ne répond pas assez vite')), this.timeoutMs);
    });
    try {
      return await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Both lists on one connection, each failing on its own (e.g. a grant missing on one table). */
  private async readLists(pool: Pool, now: number): Promise<DbLists> {
    let conn: Connection;
    try {
      conn = await pool.getConnection();
    } catch (err) {
      return unavailable(`connexion impossible (${errorCode(err)})`);
    }
    const params = [MESSAGE_SHOWN_CHARS, VALEUR_SHOWN_CHARS, VALEUR_SHOWN_CHARS, ERRORS_SHOWN];
    const controllers = await attempt(async () => {
      const [rows] = await conn.query<RowDataPacket[]>({ sql: CONTROLLERS_SQL, timeout: this.timeoutMs });
      return rows.map((r) => toController(r, now));
    });
    const errors = await attempt(async () => {
      const [rows] = await conn.query<RowDataPacket[]>({ sql: ERRORS_SQL, timeout: this.timeoutMs }, params);
      return rows.map(toError);
    });
    // After a query timeout mysql2 keeps waiting for the server's answer on that connection:
    // dropping it keeps the drain from ever queueing behind a status query.
    if (controllers.timedOut || errors.timedOut) conn.destroy();
    else conn.release();
    return {
      controllers: controllers.value,
      controllersUnavailable: controllers.reason,
      errors: errors.value,
      errorsUnavailable: errors.reason,
    };
  }
}

type Attempt<T> = { value: T; reason: null; timedOut: false } | { value: null; reason: string; timedOut: boolean };

async function attempt<T>(read: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { value: await read(), reason: null, timedOut: false };
  } catch (err) {
    const code = errorCode(err);
    return { value: null, reason: `lecture impossible (${code})`, timedOut: code === 'PROTOCOL_SEQUENCE_TIMEOUT' };
  }
}

function unavailable(reason: string): DbLists {
  return { controllers: null, controllersUnavailable: reason, errors: null, errorsUnavailable: reason };
}

/** Only the code: a server message may quote SQL, which the page has no use for. */
function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code ? code : 'erreur inconnue';
}

function toController(r: RowDataPacket, now: number): ControllerStatus {
  const lastMs = r.lastEventMs === null || r.lastEventMs === undefined ? null : Number(r.lastEventMs);
  return {
    mac: String(r.mac),
    nom: String(r.nom),
    ip: r.ip === null ? null : String(r.ip),
    online: Number(r.status) === 1,
    lastChangeAt: lastMs === null ? null : formatDateTime(lastMs),
    lastChangeAgeSeconds: lastMs === null ? null : Math.max(0, Math.round((now - lastMs) / 1000)),
  };
}

function toError(r: RowDataPacket): ErrorStatus {
  return {
    id: Number(r.id),
    type: String(r.type),
    // A DB_ERROR row quotes the server's message, which names the account.
    message: redactSecrets(String(r.message)),
    valeur: redactNullable(r.valeur === null ? null : String(r.valeur)),
    valeurTruncated: Number(r.valeurTruncated) === 1,
    at: String(r.at),
  };
}
