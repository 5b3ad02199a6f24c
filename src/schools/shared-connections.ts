/**
 * The database connections of a bridge serving many schools: a few connections shared by every
 * school, instead of a pool per school (200 schools would open 600 connections, past MariaDB's
 * default max_connections of 151, and take them from the web apps).
 *
 * All the schools' databases are on one server (DB_HOST), so a connection serves any of them:
 * each school sees a pool of its own (`forDatabase`) whose connections are switched to its
 * database (`USE`, only when the connection was last on another one). A school waits its turn
 * for a connection in order, outside DB_STATEMENT_TIMEOUT: waiting behind busy schools is not a
 * database failure, and must not write DB_ERROR rows.
 */
import type { DbConfig } from '../config.js';
import { isConnectionFailure } from '../db/bounded-statements.js';
import { createWriterPool, type Connection, type Pool } from '../db/pool.js';

/** Connections shared by the schools' drains, catalogs, handovers and the clock check. */
export const SCHOOL_CONNECTIONS = 4;

/** Turns for a connection, first come first served. */
class Turns {
  private readonly waiting: Array<() => void> = [];

  constructor(private free: number) {}

  async take(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

type QueryArgs = Parameters<Pool['query']>;

export class SharedConnections {
  private readonly pool: Pool;
  private readonly turns: Turns;
  /** The database each connection was last switched to, by mysql2's connection. */
  private readonly current = new WeakMap<object, string>();

  constructor(db: DbConfig, statementTimeoutMs: number, readonly size = SCHOOL_CONNECTIONS) {
    // No database at connect: a school whose database is missing must not fail the others.
    this.pool = createWriterPool({ ...db, database: '' }, statementTimeoutMs, size);
    this.turns = new Turns(size);
  }

  /**
   * A pool for one database, as the drain, catalog and handover use it (query, getConnection);
   * `undefined`: any of them (a statement that names no table, e.g. the clock check).
   */
  forDatabase(database: string | undefined): Pool {
    const getConnection = () => this.connection(database);
    const query = async (...args: QueryArgs) => {
      const conn = await getConnection();
      try {
        const result = await (conn.query as (...a: QueryArgs) => Promise<unknown>)(...args);
        conn.release();
        return result;
      } catch (err) {
        if (isConnectionFailure(err)) conn.destroy();
        else conn.release();
        throw err;
      }
    };
    // Only what those parts call; the shared pool itself is ended by its owner.
    return { getConnection, query, end: async () => undefined } as unknown as Pool;
  }

  private async connection(database: string | undefined): Promise<Connection> {
    await this.turns.take();
    let conn: Connection;
    try {
      conn = await this.pool.getConnection();
    } catch (err) {
      this.turns.give();
      throw err;
    }
    // The turn is given back once, however the caller lets the connection go (some do twice).
    let given = false;
    const giveBack = () => {
      if (given) return;
      given = true;
      this.turns.give();
    };
    const release = conn.release.bind(conn);
    const destroy = conn.destroy.bind(conn);
    conn.release = () => {
      giveBack();
      release();
    };
    conn.destroy = () => {
      giveBack();
      destroy();
    };
    if (database === undefined || this.current.get(conn.connection) === database) return conn;
    try {
      await conn.query('USE ??', [database]);
    } catch (err) {
      // A connection failure already destroyed it; a refusal (no such database, no grant) did not.
      if (isConnectionFailure(err)) conn.destroy();
      else conn.release();
      throw err;
    }
    this.current.set(conn.connection, database);
    return conn;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
