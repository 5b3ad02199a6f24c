/**
 * Payloads full of unknown keys (each worth ~1 300 error rows) piled up in the journal: the
 * bridge, under a small container-like heap, reports them within the rate limit, keeps going
 * and writes the valid readings behind them. Batches are bounded in rows and bytes, so no
 * backlog of bad messages can exhaust memory (and then crash again on the same batch forever).
 * Then, the minute over, the rate limiter's summary row counts every error not written.
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IMAGE_NODE_OPTIONS } from '../../helpers/bridge-process.js';
import { metricValue } from '../../helpers/metrics.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

const POISON_MESSAGES = 1_000;
const KEYS_PER_MESSAGE = 1_300; // ~14 KB, under MAX_PAYLOAD_BYTES
const GOOD_MESSAGES = 10;

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

it('reports a backlog of payloads full of unknown keys without running out of memory', async () => {
  const first = await stack.startBridge();
  expect(await first.stop('SIGTERM')).toBe(0);

  // While the bridge is down: its persistent session queues everything at the broker.
  const device = await stack.device('24:6F:28:00:06:01');
  const poison = `{${Array.from({ length: KEYS_PER_MESSAGE }, (_, i) => `"cle${i}":1`).join(',')}}`;
  for (let sent = 0; sent < POISON_MESSAGES; sent += 100) {
    await Promise.all(Array.from({ length: 100 }, () => device.publishAsync('serre/1/bac/1', poison, { qos: 1 })));
  }
  for (let i = 0; i < GOOD_MESSAGES; i++) {
    await device.publishAsync('serre/1/bac/1', `{"humiditeAmbiante":${40 + i},"humiditeSol":30,"temperatureAmbiante":21}`, { qos: 1 });
  }

  // With the image's heap (64 MiB of old space), far smaller than the 1.3 million error rows
  // this backlog describes.
  expect(IMAGE_NODE_OPTIONS).toContain('--max-old-space-size=64');
  const bridge = await stack.startBridge({ DATA_DIR: first.dataDir });
  await waitFor('the valid readings behind the bad ones', async () => (await stack.db.count('mesure')) === GOOD_MESSAGES * 3, 120_000, 500);

  const suppressed = await metricValue(bridge, 'parc_bridge_errors_suppressed_total', 'type="UNKNOWN_SENSOR"');
  // Rows for single keys; the summary row may already be there if the machine is slow.
  const written = await stack.db.count('error', "type_erreur = 'UNKNOWN_SENSOR' AND message NOT LIKE '%limitation du débit%'");
  console.log('unknown-key flood:', { written, suppressed });
  expect(bridge.child.exitCode).toBeNull();
  expect(written + suppressed).toBe(POISON_MESSAGES * KEYS_PER_MESSAGE);
  expect(written).toBeGreaterThan(0);
  expect(written).toBeLessThanOrEqual(20); // ERROR_RATE_LIMIT per (type, topic) and minute

  // Once the minute is over, one summary row counts what was not written one by one.
  const summary = await waitFor(
    'the summary row',
    async () => (await stack.db.query<RowDataPacket[]>("SELECT message, valeur FROM error WHERE type_erreur = 'UNKNOWN_SENSOR' AND valeur = ?", [String(suppressed)]))[0],
    90_000,
    1_000,
  );
  expect(summary.message).toContain('serre/1/bac/1');
}, 180_000);
