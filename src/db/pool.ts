import mysql from 'mysql2/promise';
import type { DbConfig } from '../config.js';
import { boundStatements } from './bounded-statements.js';

export type Pool = mysql.Pool;
export type Connection = mysql.PoolConnection;

/**
 * A pool that sends one statement per query: migrate, create-db-user, the status page's reads,
 * the demo. Several statements in one query stay possible only where they are needed (below), so
 * that a value ever spliced into SQL by mistake could not append a statement of its own.
 */
export function createPool(db: DbConfig, connectionLimit = 3): Pool {
  return mysql.createPool(poolOptions(db, connectionLimit, false));
}

/**
 * The bridge's pool: one connection for the batch being written, the others for catalog reloads,
 * the greenhouse watch and the clock check. The batch writer sends a whole transaction in one
 * round trip, so this pool allows several statements per query; every value in them is still a
 * placeholder escaped by the driver. Every statement, and the wait for a connection, is bounded by
 * `statementTimeoutMs` (bounded-statements.ts).
 */
export function createWriterPool(db: DbConfig, statementTimeoutMs: number, connectionLimit = 3): Pool {
  return boundStatements(mysql.createPool(poolOptions(db, connectionLimit, true)), statementTimeoutMs);
}

function poolOptions(db: DbConfig, connectionLimit: number, multipleStatements: boolean): mysql.PoolOptions {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    connectionLimit,
    maxIdle: connectionLimit,
    idleTimeout: 60_000,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    // TCP's default is two hours: a host that died without closing is found in seconds instead.
    keepAliveInitialDelay: 10_000,
    charset: 'utf8mb4',
    // Times are written as local DATETIME strings (see time.ts); nothing is converted here.
    dateStrings: true,
    supportBigNumbers: true,
    multipleStatements,
    bigNumberStrings: false,
  };
}
