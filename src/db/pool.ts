import mysql from 'mysql2/promise';
import type { DbConfig } from '../config.js';

export type Pool = mysql.Pool;
export type Connection = mysql.PoolConnection;

/** A small pool: one connection for the batch being written; the others for catalog reloads and the status page. */
export function createPool(db: DbConfig, connectionLimit = 3): Pool {
  return mysql.createPool({
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
    charset: 'utf8mb4',
    // Times are written as local DATETIME strings (see time.ts); nothing is converted here.
    dateStrings: true,
    supportBigNumbers: true,
    // The batch writer sends a whole transaction in one round trip (every value is still a
    // placeholder escaped by the driver).
    multipleStatements: true,
    bigNumberStrings: false,
  });
}
