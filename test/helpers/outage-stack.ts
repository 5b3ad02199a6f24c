/** A stack on a database server of the test's own, for tests of database outages. */
import { afterAll, beforeAll } from 'vitest';
import { PrivateMariadb } from './private-mariadb.js';
import { createStack, type Stack } from './stack.js';

export interface OutageSetup {
  /** A mariadbd of the test's own, that it may stop, kill and start again. */
  readonly mariadb: PrivateMariadb;
  /** A stack whose database lives on that server. */
  readonly stack: Stack;
}

/** For tests of database outages: set up before the tests of the calling suite, torn down after. */
export function stackOnPrivateMariadb(): OutageSetup {
  const setup = {} as { mariadb: PrivateMariadb; stack: Stack };
  beforeAll(async () => {
    setup.mariadb = await PrivateMariadb.create();
    setup.stack = await createStack({ dbServer: setup.mariadb.server });
  });
  afterAll(async () => {
    await setup.stack?.close();
    await setup.mariadb?.destroy();
  });
  return setup;
}
