/** What the bridge does with the errors a Galera node answers (src/db/errors.ts). */
import { describe, expect, it } from 'vitest';
import { classifyDbError } from '../../src/db/errors.js';

/** The fields mysql2 gives a server error, as MariaDB 10.11 with galera-4 sends them. */
const serverError = (errno: number, code: string, sqlState: string, sqlMessage: string) => Object.assign(new Error(sqlMessage), { errno, code, sqlState, sqlMessage, fatal: false });

describe('Galera errors', () => {
  it('a node that is not ready (1047) is waited out like an unreachable server, never held for an operator nor a row refused', () => {
    expect(classifyDbError(serverError(1047, 'ER_UNKNOWN_COM_ERROR', '08S01', 'WSREP has not yet prepared node for application use'))).toBe('connection');
  });

  it('a certification failure or a brute-force abort (1213) is a conflict, tried again', () => {
    expect(classifyDbError(serverError(1213, 'ER_LOCK_DEADLOCK', '40001', 'Deadlock found when trying to get lock; try restarting transaction'))).toBe('conflict');
    expect(classifyDbError(serverError(1213, 'ER_LOCK_DEADLOCK', '40001', 'Deadlock: wsrep aborted transaction'))).toBe('conflict');
  });
});
