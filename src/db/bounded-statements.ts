/**
 * Every statement of the bridge bounded in time (DB_STATEMENT_TIMEOUT), whoever sends it: the
 * batch writer, the catalog, the greenhouse watch, the clock check, the handover.
 *
 * mysql2's per-query `timeout` only rejects the query's promise: the connection stays busy with
 * it, and whatever is sent next waits behind it. A pool also waits for a free connection without
 * limit. Against a frozen server (a stopped VM, a full disk, a dead host whose TCP connections
 * linger) the bridge would hang on both. So a statement that times out gives its connection up,
 * and the wait for a connection has the same bound.
 */
import type mysql from 'mysql2/promise';

type Pool = mysql.Pool;
type Connection = mysql.PoolConnection;
type QueryArgs = [sql: string | mysql.QueryOptions, values?: unknown];

/** A failure after which a connection is not trusted again (lost, or given up on). */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { errno?: unknown; fatal?: unknown };
  return typeof err !== 'object' || err === null || e.errno === undefined || e.fatal === true;
}

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what}: no answer from the database within ${ms} ms (DB_STATEMENT_TIMEOUT)`), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
}

/** Each statement of `conn` has `timeoutMs`; one that times out destroys the connection. */
function boundConnection(conn: Connection, timeoutMs: number): Connection {
  const query = conn.query.bind(conn) as (...args: QueryArgs) => Promise<unknown>;
  const bounded = (sql: string | mysql.QueryOptions, values?: unknown) => {
    const options = typeof sql === 'string' ? { sql, timeout: timeoutMs } : { timeout: timeoutMs, ...sql };
    return query(options, values).catch((err: unknown) => {
      if (isConnectionFailure(err)) conn.destroy();
      throw err;
    });
  };
  conn.query = bounded as Connection['query'];
  return conn;
}

/** The pool, with its statements and its wait for a connection bounded by `timeoutMs`. */
export function boundStatements(pool: Pool, timeoutMs: number): Pool {
  const getConnection = pool.getConnection.bind(pool);
  const boundedGetConnection = (): Promise<Connection> =>
    new Promise<Connection>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(timeoutError('waiting for a database connection', timeoutMs));
      }, timeoutMs);
      getConnection().then(
        (conn) => {
          clearTimeout(timer);
          // The caller has given up: the connection goes back to the pool unused.
          if (late) conn.release();
          else resolve(boundConnection(conn, timeoutMs));
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  const boundedQuery = async (...args: QueryArgs) => {
    const conn = await boundedGetConnection();
    try {
      const result = await (conn.query as (...a: QueryArgs) => Promise<unknown>)(...args);
      conn.release();
      return result;
    } catch (err) {
      // A timed-out or lost connection is already destroyed; one that refused the statement is fine.
      if (!isConnectionFailure(err)) conn.release();
      throw err;
    }
  };
  pool.getConnection = boundedGetConnection;
  pool.query = boundedQuery as Pool['query'];
  return pool;
}
