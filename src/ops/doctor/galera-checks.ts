import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { fail, ok, warn, withTimeout, type CheckResult } from './check.js';

/**
 * When DB_HOST is a Galera cluster (deploy/galera): is the node the bridge reaches ready for
 * writes, and does the bridge reach it through a proxy that can move it to another node, or
 * directly, which cannot? No line for a server that is not a Galera node.
 */

export const GALERA_LABEL = 'Galera cluster';

/** ER_UNKNOWN_COM_ERROR, which a Galera node that is not ready answers to every statement on a table. */
export const WSREP_NOT_READY = 1047;

const PROXY_FIX = 'point DB_HOST and DB_PORT at the HAProxy in front of the cluster (deploy/galera/README.md)';

export interface GaleraNodeState {
  nodeName: string;
  /** wsrep_ready: ON when the node takes statements. */
  ready: string;
  /** wsrep_cluster_status: Primary when the node is in the component that has the quorum. */
  clusterStatus: string;
  /** wsrep_local_state_comment: Synced, Joining, Donor/Desynced, Initialized... */
  localState: string;
  clusterSize: number;
  /** A read of a table was refused with 1047 (also when an operator drains the node with wsrep_reject_queries). */
  refusesStatements: boolean;
  /**
   * The bridge's side of the TCP connection and the client port the server sees: the same port
   * when nothing stands between them, another one (the proxy's) through HAProxy.
   */
  localPort: number | undefined;
  portSeenByServer: number | undefined;
}

/** A node out of the Primary component, still joining, or drained refuses the bridge's statements. */
export function nodeNotReady(state: GaleraNodeState): boolean {
  return state.refusesStatements || state.ready !== 'ON' || state.clusterStatus !== 'Primary';
}

/** What the doctor says about this node; `target` is DB_HOST:DB_PORT. */
export function galeraResult(state: GaleraNodeState, target: string): CheckResult {
  const node = `node ${state.nodeName || '(unnamed)'}`;
  if (nodeNotReady(state)) {
    return fail(
      GALERA_LABEL,
      `${target} is Galera ${node}, which is not ready: it refuses every write with error ${WSREP_NOT_READY} ` +
        `"WSREP has not yet prepared node for application use" (wsrep_ready=${state.ready}, cluster ${state.clusterStatus}, ` +
        `node ${state.localState}, ${state.clusterSize} node(s) in its component); the bridge keeps the readings in its journal until it takes writes`,
      `${PROXY_FIX}: HAProxy sends the writes to a node that is Synced in the Primary component; ` +
        'a node is not ready while it joins, or when it is cut off from the others or the cluster lost its quorum (the guide says how to recover)',
    );
  }
  const summary = `${node} of a ${state.clusterSize}-node Galera cluster, ${state.localState}, ${state.clusterStatus}`;
  if (state.localPort === undefined || state.portSeenByServer === undefined) {
    return ok(GALERA_LABEL, `${summary} (whether through a proxy could not be told)`);
  }
  if (state.localPort === state.portSeenByServer) {
    return warn(
      GALERA_LABEL,
      `${target} is ${summary}, reached directly, not through a proxy: if this node fails, the bridge cannot move to another node ` +
        'and its readings wait in its journal until this one is back',
      PROXY_FIX,
    );
  }
  return ok(GALERA_LABEL, `reached through a proxy: ${summary}`);
}

async function variables(connection: mysql.Connection, sql: string, timeoutMs: number): Promise<Map<string, string>> {
  const [rows] = await withTimeout(connection.query<RowDataPacket[]>(sql), timeoutMs);
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}

/** The port after the last ':' of information_schema.PROCESSLIST.HOST ("10.0.0.5:51332"). */
export function portOf(host: string): number | undefined {
  const port = Number(/:(\d+)$/.exec(host)?.[1]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** mysql2 keeps the socket of a connection on its inner connection: not in its typings. */
function localPortOf(connection: mysql.Connection): number | undefined {
  const inner = (connection as unknown as { connection?: { stream?: { localPort?: unknown } } }).connection;
  const port = inner?.stream?.localPort;
  return typeof port === 'number' ? port : undefined;
}

/** The node's state; undefined when the server is no Galera node. SHOW and table-less reads work on a node that is not ready. */
export async function readGaleraState(connection: mysql.Connection, timeoutMs: number): Promise<GaleraNodeState | undefined> {
  const vars = await variables(connection, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_node_name')", timeoutMs);
  if (vars.get('wsrep_on') !== 'ON') return undefined;
  const status = await variables(
    connection,
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_cluster_size')",
    timeoutMs,
  );
  let refusesStatements = false;
  try {
    await withTimeout(connection.query('SELECT 1 FROM capteur LIMIT 0'), timeoutMs);
  } catch (err) {
    // Anything else (a missing table, a grant) is the schema checks' business.
    refusesStatements = (err as { errno?: unknown }).errno === WSREP_NOT_READY;
  }
  const [self] = await withTimeout(connection.query<RowDataPacket[]>('SELECT HOST AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()'), timeoutMs);
  return {
    nodeName: vars.get('wsrep_node_name') ?? '',
    ready: status.get('wsrep_ready') ?? '?',
    clusterStatus: status.get('wsrep_cluster_status') ?? '?',
    localState: status.get('wsrep_local_state_comment') ?? '?',
    clusterSize: Number(status.get('wsrep_cluster_size') ?? 0),
    refusesStatements,
    localPort: localPortOf(connection),
    portSeenByServer: self[0] ? portOf(String(self[0].host)) : undefined,
  };
}
