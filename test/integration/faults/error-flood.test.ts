/**
 * One broken or hostile device publishing to 10 000 distinct topics in a minute: the `error`
 * table gets at most ERROR_BUDGET_PER_MINUTE rows plus one summary per type, every bad message is
 * accounted for, and the other devices' readings keep landing.
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue } from '../../helpers/metrics.js';
import { publishAsync, SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

const BUDGET = 200;
const FLOOD = 10_000;

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('writes at most the budget plus a summary, and the good readings keep landing', async () => {
  const bridge = await stack.startBridge({ ERROR_BUDGET_PER_MINUTE: String(BUDGET) });
  const good = await Promise.all([1, 2].map((n) => stack.device(`24:6F:28:00:0E:0${n}`)));
  const stream = new SteadyStream(good, 50, 1, 0).start();
  const flooder = await stack.device('m5-flooder');
  for (let i = 0; i < FLOOD; i++) await publishAsync(flooder, `serre/900/bac/${i}`, '{"humiditeSol": 1}', 0);
  const sent = await stream.stop();

  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  await waitFor('every bad message counted', async () => (await metricValue(bridge, 'parc_bridge_errors_total', 'type="BAC_NOT_FOUND"')) === FLOOD, 60_000);
  const rowsWhileFlooding = await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND'");
  expect(rowsWhileFlooding).toBeLessThanOrEqual(BUDGET);

  // The minute's summary is written once its minute of receipt is over.
  await waitFor('the budget summary', async () => (await stack.db.count('error', "type_erreur = 'BAC_NOT_FOUND' AND message LIKE '%budget global%'")) > 0, 120_000);
  const rows = await stack.db.query<RowDataPacket[]>("SELECT message, valeur FROM error WHERE type_erreur = 'BAC_NOT_FOUND'");
  const summaries = rows.filter((r) => String(r.message).includes('budget global'));
  const single = rows.length - summaries.length;
  console.log('error flood:', { single, summaries: summaries.map((r) => r.valeur), budget: BUDGET });
  // A flood spread over two minutes of receipt gets two budgets and two summaries at most.
  expect(single).toBeLessThanOrEqual(2 * BUDGET);
  expect(summaries.length).toBeLessThanOrEqual(2);
  expect(single + summaries.reduce((n, r) => n + Number(r.valeur), 0)).toBe(FLOOD);
});
