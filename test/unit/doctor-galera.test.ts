/** The doctor's Galera line: a node that is not ready, a node reached directly, a node behind a proxy. */
import { describe, expect, it } from 'vitest';
import { formatResult } from '../../src/ops/doctor/check.js';
import { galeraResult, nodeNotReady, portOf, type GaleraNodeState } from '../../src/ops/doctor/galera-checks.js';

const synced: GaleraNodeState = {
  nodeName: 'node2',
  ready: 'ON',
  clusterStatus: 'Primary',
  localState: 'Synced',
  clusterSize: 3,
  refusesStatements: false,
  localPort: 51332,
  portSeenByServer: 40112,
};

describe('a Galera node that is not ready', () => {
  const cutOff = { ...synced, ready: 'OFF', clusterStatus: 'non-Primary', localState: 'Initialized', clusterSize: 1, refusesStatements: true };

  it('fails with the error the bridge gets (1047), the node state, and the proxy as the fix', () => {
    const line = formatResult(galeraResult(cutOff, '10.0.0.13:3306'));
    expect(line).toMatch(/^✘ Galera cluster: 10\.0\.0\.13:3306 is Galera node node2, which is not ready/);
    expect(line).toContain('error 1047 "WSREP has not yet prepared node for application use"');
    expect(line).toContain('wsrep_ready=OFF, cluster non-Primary, node Initialized, 1 node(s) in its component');
    expect(line).toContain('the bridge keeps the readings in its journal');
    expect(line).toContain('→ point DB_HOST and DB_PORT at the HAProxy in front of the cluster (deploy/galera/README.md)');
  });

  it('is any of: statements refused (a drained node too), wsrep not ready, out of the Primary component', () => {
    expect(nodeNotReady(synced)).toBe(false);
    expect(nodeNotReady({ ...synced, refusesStatements: true })).toBe(true);
    expect(nodeNotReady({ ...synced, ready: 'OFF' })).toBe(true);
    expect(nodeNotReady({ ...synced, clusterStatus: 'non-Primary' })).toBe(true);
    expect(galeraResult({ ...synced, refusesStatements: true }, 'db:3306').status).toBe('fail');
  });
});

describe('where the bridge reaches a ready node', () => {
  it('directly (the server sees the bridge’s own port): a warning that it cannot fail over', () => {
    const line = formatResult(galeraResult({ ...synced, portSeenByServer: synced.localPort }, '10.0.0.12:3306'));
    expect(line).toBe(
      '⚠ Galera cluster: 10.0.0.12:3306 is node node2 of a 3-node Galera cluster, Synced, Primary, reached directly, not through a proxy: ' +
        'if this node fails, the bridge cannot move to another node and its readings wait in its journal until this one is back ' +
        '→ point DB_HOST and DB_PORT at the HAProxy in front of the cluster (deploy/galera/README.md)',
    );
  });

  it('through a proxy (the server sees another port): ok', () => {
    expect(formatResult(galeraResult(synced, '10.0.0.10:3306'))).toBe('✔ Galera cluster: reached through a proxy: node node2 of a 3-node Galera cluster, Synced, Primary');
  });

  it('unknown ports: ok, and says it could not tell', () => {
    const result = galeraResult({ ...synced, localPort: undefined }, 'db:3306');
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('whether through a proxy could not be told');
  });
});

describe('the client port in PROCESSLIST.HOST', () => {
  it('is the number after the last colon, for names, IPv4 and IPv6', () => {
    expect(portOf('localhost:51332')).toBe(51332);
    expect(portOf('10.0.0.5:4000')).toBe(4000);
    expect(portOf('::1:4001')).toBe(4001);
    expect(portOf('localhost')).toBeUndefined();
    expect(portOf('')).toBeUndefined();
  });
});
