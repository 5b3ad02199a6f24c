import { accessSync, constants, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { readSchools } from './schools/school-ids.js';

/**
 * Configuration from the environment. Names and defaults: README, Configuration; every
 * problem is collected and reported at once so that a broken deployment is fixed in one go.
 */

const LOG_LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error' } as const;
export type LogLevel = (typeof LOG_LEVELS)[keyof typeof LOG_LEVELS];

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

const seconds = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, { message: 'must be a number of seconds' })
    .transform(Number)
    .pipe(z.number().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in seconds: a number, or with a unit (90s, 30m, 72h, 3d). */
const duration = (maxSeconds: number) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^\d+(\.\d+)?\s*[smhd]?$/, { message: 'must be a duration such as 72h, 3d, 30m or a number of seconds' })
    .transform((v) => Number(v.replace(/[smhd]$/, '')) * DURATION_UNITS[/[smhd]$/.exec(v)?.[0] ?? '']!)
    .pipe(z.number().max(maxSeconds, { message: `must be at most ${maxSeconds / 86_400} days` }));

/** Where the container mounts the bridge's certificates (docker-compose.yml). */
const CERTIFICATE_DEFAULTS = { MQTT_CA_FILE: '/certs/ca.crt', MQTT_CERT_FILE: '/certs/client.crt', MQTT_KEY_FILE: '/certs/client.key' };

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const required = z.string({ message: 'is required' });
const nonEmpty = z.string({ message: 'is required' }).trim().min(1, { message: 'must not be empty' });
const optional = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const timeZone = z
  .string()
  .trim()
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'is not a known IANA time zone (e.g. Europe/Paris)' },
  );

/** Where the HTTP server listens: an IP address or a host name, never a URL. */
const httpHost = z
  .string()
  .trim()
  .pipe(z.union([z.ipv4(), z.ipv6(), z.hostname()], { message: 'must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)' }))
  .refine((host) => !/^[\d.]+$/.test(host) || z.ipv4().safeParse(host).success, { message: 'is not a valid IPv4 address' });

/** A secret: the messages below never quote the value. */
const httpToken = z
  .string()
  .regex(/^[\x21-\x7e]*$/, { message: 'may only contain printable ASCII characters, without spaces' })
  .min(16, { message: 'must be at least 16 characters long (e.g. openssl rand -hex 24)' })
  .max(512, { message: 'must be at most 512 characters long' });

const dbShape = {
  DB_HOST: nonEmpty,
  DB_PORT: integer(1, 65535).default(3306),
  DB_NAME: nonEmpty.default('parc'),
  DB_USER: nonEmpty,
  DB_PASSWORD: required,
  DB_RETRY_DELAY: seconds(0.1, 3600).default(5),
  LOG_LEVEL: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(Object.keys(LOG_LEVELS) as [keyof typeof LOG_LEVELS], { message: 'must be DEBUG, INFO, WARNING or ERROR' }))
    .default('INFO'),
  TZ: timeZone.optional(),
  // Checked with DB_NAME (schools/school-ids.ts): every problem is listed with the others.
  SCHOOLS: optional,
};

const bridgeShape = {
  ...dbShape,
  DB_STATEMENT_TIMEOUT: seconds(1, 3600).default(15),
  MQTT_HOST: nonEmpty.default('mosquitto'),
  MQTT_PORT: integer(1, 65535).default(8883),
  MQTT_KEEPALIVE: integer(5, 65535).default(60),
  MQTT_USER: optional,
  MQTT_PASSWORD: optional,
  MQTT_RETRY_DELAY: seconds(0.1, 60).default(5),
  MQTT_TLS: boolean.default(true),
  MQTT_CA_FILE: nonEmpty.default(CERTIFICATE_DEFAULTS.MQTT_CA_FILE),
  MQTT_CERT_FILE: nonEmpty.default(CERTIFICATE_DEFAULTS.MQTT_CERT_FILE),
  MQTT_KEY_FILE: nonEmpty.default(CERTIFICATE_DEFAULTS.MQTT_KEY_FILE),
  MQTT_CLIENT_ID: nonEmpty.default('mqtt-bridge'),
  // The broker's acl_file, read by `doctor` only (to say whether the bridge's CN may read).
  MQTT_ACL_FILE: optional,
  MQTT_SHARED_GROUP: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]*$/, { message: 'may only contain letters, digits, - and _' })
    .default(''),
  DATA_DIR: nonEmpty.default('./data'),
  HTTP_PORT: integer(0, 65535).default(8080),
  // This machine only unless the operator opens it; the Docker image sets 0.0.0.0 (README, Security).
  HTTP_HOST: httpHost.default('127.0.0.1'),
  HTTP_TOKEN: httpToken.optional(),
  HTTP_METRICS_AUTH: boolean.default(true),
  // The host address docker-compose.yml publishes HTTP_PORT on (publishedWithoutToken).
  HTTP_PUBLISHED_ADDRESS: optional,
  JOURNAL_SYNC: z.enum(['normal', 'full'], { message: 'must be normal or full' }).default('full'),
  JOURNAL_MAX_BYTES: integer(64 * 1024, Number.MAX_SAFE_INTEGER).default(512 * 1024 * 1024),
  // Committed entries kept to refill a database restored from a backup (docs/recovery.md).
  JOURNAL_RETAIN: duration(365 * 86_400).default(72 * 3600),
  JOURNAL_RETAIN_BYTES: integer(0, Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
  MAX_PAYLOAD_BYTES: integer(64, 256 * 1024).default(16 * 1024),
  BATCH_SIZE: integer(1, 10_000).default(2000),
  SHUTDOWN_TIMEOUT: seconds(1, 3600).default(20),
  CACHE_TTL: seconds(1, 60).default(30),
  ERROR_RATE_LIMIT: integer(1, 1_000_000).default(20),
  ERROR_BUDGET_PER_MINUTE: integer(1, 1_000_000).default(300),
  SUMMARY_INTERVAL: seconds(1, 86_400).default(60),
  CLOCK_CHECK_INTERVAL: seconds(1, 86_400).default(60),
  SILENCE_AFTER: seconds(1, 30 * 86_400).default(900),
  NO_READINGS_WARN_AFTER: seconds(1, 30 * 86_400).default(600),
};

const dbSchema = z.object(dbShape);
const bridgeSchema = z.object(bridgeShape);

type DbEnv = z.output<typeof dbSchema>;

export interface DbConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  retryDelayMs: number;
}

export interface MqttConfig {
  host: string;
  port: number;
  keepalive: number;
  username: string | undefined;
  password: string | undefined;
  retryDelayMs: number;
  tls: { caFile: string; certFile: string; keyFile: string } | undefined;
  clientId: string;
  sharedGroup: string;
  /** The broker's ACL file, for `doctor`; the bridge itself never reads it. */
  aclFile: string | undefined;
}

export interface BridgeConfig {
  logLevel: LogLevel;
  timeZone: string;
  /** `database` is a template with `{ecole}` when `schools` is not empty. */
  db: DbConfig;
  /** The schools served (SCHOOLS, docs/schools.md); empty: one database, un-prefixed topics. */
  schools: string[];
  mqtt: MqttConfig;
  dataDir: string;
  httpPort: number;
  /** Address the HTTP server binds. */
  httpHost: string;
  /** Asked for by the status page and /api/status (and /metrics with httpMetricsAuth); a secret. */
  httpToken: string | undefined;
  httpMetricsAuth: boolean;
  journalSync: 'normal' | 'full';
  journalMaxBytes: number;
  /** How long committed entries are kept to refill a database that goes back (0: not at all). */
  journalRetainMs: number;
  journalRetainBytes: number;
  maxPayloadBytes: number;
  batchSize: number;
  shutdownTimeoutMs: number;
  /** Longest one statement of the bridge may take before its connection is given up. */
  dbStatementTimeoutMs: number;
  cacheTtlMs: number;
  errorRateLimitPerMinute: number;
  /** `error` rows per minute across all topics, past which they are summarised per type. */
  errorBudgetPerMinute: number;
  summaryIntervalMs: number;
  /** How often the bridge's clock is compared with the database's. */
  clockCheckIntervalMs: number;
  /** A sensor with no reading for this long is silent (greenhouse watch). */
  silenceAfterMs: number;
  /** Subscribed with no reading at all for this long: a WARN (broker ACL, devices off). */
  noReadingsWarnAfterMs: number;
}

export interface DbOnlyConfig {
  logLevel: LogLevel;
  timeZone: string;
  /** `database` is a template with `{ecole}` when `schools` is not empty. */
  db: DbConfig;
  /** The schools served (SCHOOLS), each with its own database; empty: one database, no school. */
  schools: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Empty strings count as unset, as in docker-compose env files, except for DB_PASSWORD. */
function present(env: Env, keep: string[]): Env {
  const out: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && (value !== '' || keep.includes(key))) out[key] = value;
  }
  return out;
}

function parse<S extends z.ZodType>(schema: S, env: Env): { data?: z.output<S>; problems: string[] } {
  const result = schema.safeParse(present(env, ['DB_PASSWORD']));
  if (result.success) return { data: result.data, problems: [] };
  return { problems: result.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`) };
}

function dbConfig(env: DbEnv): DbConfig {
  return {
    host: env.DB_HOST,
    port: env.DB_PORT,
    database: env.DB_NAME,
    user: env.DB_USER,
    password: env.DB_PASSWORD,
    retryDelayMs: Math.round(env.DB_RETRY_DELAY * 1000),
  };
}

function effectiveTimeZone(env: DbEnv): string {
  return env.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** SCHOOLS with DB_NAME, read from the environment as given (also when other values are wrong). */
function schools(env: Env): { ids: string[]; problems: string[] } {
  return readSchools(env.SCHOOLS, env.DB_NAME?.trim() || 'parc');
}

/**
 * `{hostname}` in MQTT_CLIENT_ID becomes the host name. `{slot}` stays: it is filled at start
 * with the number of the journal slot this instance takes under DATA_DIR (see slots.ts).
 */
function clientId(template: string): string {
  return template.replaceAll('{hostname}', hostname());
}

/** Certificate files are checked even when other values are wrong, so that one run lists all. */
function unreadableFiles(env: Env): string[] {
  if (boolean.safeParse(env.MQTT_TLS ?? 'true').data === false) return [];
  const problems: string[] = [];
  for (const [name, fallback] of Object.entries(CERTIFICATE_DEFAULTS)) {
    const file = env[name] || fallback;
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      problems.push(`${name} cannot be read: ${file}`);
    }
  }
  return problems;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i;

/**
 * Compose publishes the page on HTTP_PUBLISHED_ADDRESS of the host: beyond the loopback, the page
 * and /api/status (controllers' MACs and IPs, raw payloads) must ask for a token.
 */
function publishedWithoutToken(env: Env): string[] {
  const address = env.HTTP_PUBLISHED_ADDRESS?.trim();
  if (!address || LOOPBACK.test(address) || env.HTTP_TOKEN) return [];
  return [
    `HTTP_PUBLISHED_ADDRESS is ${address}, which opens the status page (controllers' MACs and IPs, raw payloads) ` +
      'beyond this server: set HTTP_TOKEN (16+ characters, e.g. openssl rand -hex 24), or publish it on 127.0.0.1',
  ];
}

export function loadDbConfig(env: Env = process.env): DbOnlyConfig {
  const { data, problems } = parse(dbSchema, env);
  const school = schools(env);
  problems.push(...school.problems);
  if (!data || problems.length > 0) throw new ConfigError(problems);
  return { logLevel: LOG_LEVELS[data.LOG_LEVEL], timeZone: effectiveTimeZone(data), db: dbConfig(data), schools: school.ids };
}

export function loadBridgeConfig(env: Env = process.env): BridgeConfig {
  const { data, problems } = parse(bridgeSchema, env);
  problems.push(...unreadableFiles(env), ...publishedWithoutToken(env));
  // MQTT.js refuses a password without a user name; say so at start, not at every reconnect.
  if (env.MQTT_PASSWORD && !env.MQTT_USER) problems.push('MQTT_PASSWORD is set but MQTT_USER is not (set both or neither)');
  const school = schools(env);
  problems.push(...school.problems);
  if (school.ids.length > 0 && env.MQTT_CLIENT_ID?.includes('{slot}')) {
    problems.push('MQTT_CLIENT_ID with {slot} cannot be used with SCHOOLS: give each instance its own SCHOOLS, MQTT_CLIENT_ID and DATA_DIR (docs/schools.md)');
  }
  if (!data || problems.length > 0) throw new ConfigError(problems);
  return {
    logLevel: LOG_LEVELS[data.LOG_LEVEL],
    timeZone: effectiveTimeZone(data),
    db: dbConfig(data),
    schools: school.ids,
    mqtt: {
      host: data.MQTT_HOST,
      port: data.MQTT_PORT,
      keepalive: data.MQTT_KEEPALIVE,
      username: data.MQTT_USER,
      password: data.MQTT_PASSWORD,
      retryDelayMs: Math.round(data.MQTT_RETRY_DELAY * 1000),
      tls: data.MQTT_TLS
        ? { caFile: data.MQTT_CA_FILE, certFile: data.MQTT_CERT_FILE, keyFile: data.MQTT_KEY_FILE }
        : undefined,
      clientId: clientId(data.MQTT_CLIENT_ID),
      sharedGroup: data.MQTT_SHARED_GROUP,
      aclFile: data.MQTT_ACL_FILE,
    },
    dataDir: data.DATA_DIR,
    httpPort: data.HTTP_PORT,
    httpHost: data.HTTP_HOST,
    httpToken: data.HTTP_TOKEN,
    httpMetricsAuth: data.HTTP_METRICS_AUTH,
    journalSync: data.JOURNAL_SYNC,
    journalMaxBytes: data.JOURNAL_MAX_BYTES,
    journalRetainMs: Math.round(data.JOURNAL_RETAIN * 1000),
    journalRetainBytes: data.JOURNAL_RETAIN_BYTES,
    maxPayloadBytes: data.MAX_PAYLOAD_BYTES,
    batchSize: data.BATCH_SIZE,
    shutdownTimeoutMs: Math.round(data.SHUTDOWN_TIMEOUT * 1000),
    dbStatementTimeoutMs: Math.round(data.DB_STATEMENT_TIMEOUT * 1000),
    cacheTtlMs: Math.round(data.CACHE_TTL * 1000),
    errorRateLimitPerMinute: data.ERROR_RATE_LIMIT,
    errorBudgetPerMinute: data.ERROR_BUDGET_PER_MINUTE,
    summaryIntervalMs: Math.round(data.SUMMARY_INTERVAL * 1000),
    clockCheckIntervalMs: Math.round(data.CLOCK_CHECK_INTERVAL * 1000),
    silenceAfterMs: Math.round(data.SILENCE_AFTER * 1000),
    noReadingsWarnAfterMs: Math.round(data.NO_READINGS_WARN_AFTER * 1000),
  };
}
