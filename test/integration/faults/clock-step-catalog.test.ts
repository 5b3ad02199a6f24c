/**
 * The bridge's wall clock stepped back one hour mid-run (an NTP step, a VM restored): a bac
 * added in the web app right after is still found within the cache TTL (the cache ages on the
 * monotonic clock), and the skew against the database's NOW() is reported: a WARN line and
 * parc_bridge_clock_skew_seconds, then an INFO line once the clock is right again.
 * libfaketime moves the bridge process's wall clock only.
 */
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fakeClock, fakeClockAvailable } from '../../helpers/fake-clock.js';
import { metricValue } from '../../helpers/metrics.js';
import { publishAsync } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

const CACHE_TTL_SECONDS = 20;

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it.skipIf(!fakeClockAvailable)('finds a new bac within the cache TTL after the clock steps back an hour, and reports the skew', async () => {
  const clock = fakeClock();
  const bridge = await stack.startBridge({
    ...clock.env,
    CACHE_TTL: String(CACHE_TTL_SECONDS),
    CLOCK_CHECK_INTERVAL: '1',
  });
  const device = await stack.device('24:6F:28:00:0E:01');
  // A first reading loads the catalog before the step.
  await publishAsync(device, 'serre/1/bac/1', JSON.stringify({ humiditeSol: 40 }), 0);
  await waitFor('the first reading', async () => (await stack.db.count('mesure')) === 1);
  expect(bridge.logs()).not.toMatch(/differ by more than 60 s/);

  clock.step('-1h');
  await bridge.waitForLog(/"level":"warn".*differ by more than 60 s/, 20_000);
  expect(await metricValue(bridge, 'parc_bridge_clock_skew_seconds')).toBeLessThan(-3500);
  // And on the status page's data.
  const stepped = JSON.parse((await bridge.get('/api/status')).body) as { clock: { skewSeconds: number; overLimit: boolean } };
  expect(stepped.clock.overLimit).toBe(true);
  expect(stepped.clock.skewSeconds).toBeLessThan(-3500);

  // The web app adds a bac after the step; its device publishes every second. A reading right
  // after a catalog load is reported as BAC_NOT_FOUND (a miss re-checks once the load is 5 s
  // old); one within the TTL must land, though the wall clock says the cache was loaded an hour
  // in the future.
  const [serre] = await stack.db.query<RowDataPacket[]>('SELECT id_serre FROM serre WHERE numero = 1');
  const added = (await stack.db.query('INSERT INTO bac (serre, numero) VALUES (?, 9)', [serre!.id_serre])) as unknown as ResultSetHeader;
  const publishing = setInterval(() => void publishAsync(device, 'serre/1/bac/9', JSON.stringify({ humiditeSol: 41 }), 0).catch(() => undefined), 1_000);
  try {
    await waitFor('a reading of the new bac', async () => (await stack.db.count('mesure', 'bac = ?', [added.insertId])) > 0, CACHE_TTL_SECONDS * 1000);
  } finally {
    clearInterval(publishing);
  }

  clock.step('+0');
  await bridge.waitForLog(/"level":"info".*agrees with the database's again/, 20_000);
  expect(Math.abs(await metricValue(bridge, 'parc_bridge_clock_skew_seconds'))).toBeLessThan(60);
  expect((JSON.parse((await bridge.get('/api/status')).body) as { clock: { overLimit: boolean } }).clock.overLimit).toBe(false);
  await bridge.stop();
});
