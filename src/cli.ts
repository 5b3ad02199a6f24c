#!/usr/bin/env node
/**
 * parc-bridge commands: `start` (the bridge, in the foreground), `migrate`, `create-db-user`,
 * `healthcheck` (for Docker), `doctor`, `simulate`, `demo` and `acl` (operations).
 */
import { App } from './app.js';
import { ConfigError, loadBridgeConfig, loadDbConfig } from './config.js';
import { createBridgeUser } from './db/create-user.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { localBaseUrl } from './http/local-address.js';
import { createLogger } from './logger.js';
import { errorMessage } from './error-message.js';
import { createSchoolsBridgeUser, migrateSchools } from './schools/school-commands.js';
import { SchoolsApp } from './schools/schools-app.js';

const EXIT_CONFIG = 2;

async function start(): Promise<number> {
  const config = loadBridgeConfig();
  const log = createLogger(config.logLevel);
  const app = config.schools.length > 0 ? new SchoolsApp(config, log) : new App(config, log);
  process.on('uncaughtException', (err) => {
    // A bug, not a message: restart clean; the journal keeps everything acknowledged.
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error({ err: errorMessage(reason) }, 'unhandled promise rejection');
  });
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    await app.start();
  } catch (err) {
    // Part of the bridge may be running already (e.g. the HTTP port is taken): stop it all.
    log.fatal({ err: errorMessage(err) }, 'start failed; stopping');
    await app.stop().catch(() => undefined);
    return 1;
  }
  return stopped;
}

async function runMigrate(): Promise<number> {
  const config = loadDbConfig();
  const log = createLogger(config.logLevel);
  if (config.schools.length > 0) return migrateSchools(config.db, config.schools, log);
  const pool = createPool(config.db, 1);
  try {
    await migrate(pool, log);
    log.info({ database: config.db.database }, 'schema is up to date');
    return 0;
  } finally {
    await pool.end();
  }
}

async function runCreateDbUser(): Promise<number> {
  const config = loadDbConfig();
  const log = createLogger(config.logLevel);
  const adminUser = process.env.DB_ADMIN_USER;
  if (!adminUser) throw new ConfigError(['DB_ADMIN_USER is required (an account allowed to create users and grant)']);
  // Serving several schools, DB_NAME is a template: the admin connects without a database.
  const database = config.schools.length > 0 ? '' : config.db.database;
  const admin = createPool({ ...config.db, database, user: adminUser, password: process.env.DB_ADMIN_PASSWORD ?? '' }, 1);
  const account = { user: config.db.user, password: config.db.password, host: process.env.DB_USER_HOST || '%' };
  try {
    if (config.schools.length > 0) return await createSchoolsBridgeUser(admin, account, config.db.database, config.schools, log);
    await createBridgeUser(admin, { ...account, database: config.db.database }, log);
    return 0;
  } finally {
    await admin.end();
  }
}

/**
 * Exit 0 when the running bridge says it is ready (Docker HEALTHCHECK). /readyz needs no token;
 * the bridge is asked where HTTP_HOST binds it (the loopback for 0.0.0.0).
 */
async function healthcheck(): Promise<number> {
  const port = Number(process.env.HTTP_PORT || 8080);
  if (!port) return 0;
  try {
    const res = await fetch(`${localBaseUrl(process.env.HTTP_HOST, port)}/readyz`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? 0 : 1;
  } catch {
    return 1;
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  start,
  migrate: runMigrate,
  'create-db-user': runCreateDbUser,
  healthcheck,
  doctor: async (args) => (await import('./ops/doctor.js')).doctorCommand(args),
  simulate: async (args) => (await import('./ops/simulate.js')).simulateCommand(args),
  demo: async (args) => (await import('./ops/demo.js')).demoCommand(args),
  acl: async (args) => (await import('./ops/acl/command.js')).aclCommand(args),
};

async function main(): Promise<void> {
  const [name = 'start', ...args] = process.argv.slice(2);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    process.exit(EXIT_CONFIG);
  }
  try {
    const code = await command(args);
    // The bridge may leave idle sockets behind after a stop; its work is done.
    if (name === 'start') process.exit(code);
    process.exitCode = code;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    process.stderr.write(`parc-bridge ${name} failed: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}

void main();
