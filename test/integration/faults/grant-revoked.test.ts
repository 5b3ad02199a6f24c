/**
 * A grant missing for 30 s (revoked by mistake, restored by the DBA): the journal is held, the
 * log and /readyz say what to fix, one DB_ERROR row names the cause, and once the grant is back
 * everything is written, nothing lost or doubled. Devices publish at QoS 0, like the firmware.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep, waitFor } from '../../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('holds the journal while INSERT on mesure is revoked, then writes everything once', async () => {
  const bridge = await stack.startBridge();
  const devices = await Promise.all([1, 2].map((n) => stack.device(`24:6F:28:00:0C:0${n}`)));
  const stream = new SteadyStream(devices, 50, 1, 0).start();
  await sleep(2_000);

  const who = [stack.db.name, stack.db.bridgeUser];
  await stack.db.query('REVOKE INSERT ON ??.mesure FROM ?@?', [...who, '%']);
  await bridge.waitForLog(/refuses every write until this is fixed/, 30_000);
  const held = bridge.logLines().find((l) => l.msg === 'the database refuses every write until this is fixed; entries stay in the journal and are written once it is');
  expect(String(held?.err)).toMatch(/INSERT command denied.*mesure/);
  expect(String(held?.fix)).toMatch(/grant/);
  const readyz = await bridge.get('/readyz');
  expect(readyz.status).toBe(503);
  expect(JSON.parse(readyz.body)).toMatchObject({ db: false, dbProblem: { fix: expect.stringMatching(/grant/), aFaire: expect.stringMatching(/accorder le droit/) } });

  await sleep(30_000);
  expect(await bridge.get('/readyz')).toMatchObject({ status: 503 });
  await stack.db.query('GRANT INSERT ON ??.mesure TO ?@?', [...who, '%']);
  await bridge.waitForLog(/database takes writes again/, 30_000);
  await sleep(1_000);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  console.log('grant revoked for 30 s:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  const dbErrors = await stack.db.query<Array<{ message: string } & import('mysql2').RowDataPacket>>("SELECT message FROM error WHERE type_erreur = 'DB_ERROR'");
  expect(dbErrors).toHaveLength(1);
  expect(dbErrors[0]!.message).toMatch(/INSERT command denied/);
  // "Back" means a write committed: no flapping while reads worked and writes did not.
  expect(bridge.logs().match(/database takes writes again/g)).toHaveLength(1);
  await waitFor('ready again', async () => (await bridge.get('/readyz')).status === 200);
});
