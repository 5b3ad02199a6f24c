/**
 * The bridge's wall clock stepped back one hour mid-run (an NTP step, a VM restored): controller
 * status still follows the last event. libfaketime moves the bridge process's clock only.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../../helpers/cleanup.js';
import { publishAsync } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

async function controller(mac: string): Promise<{ ip: string; status: number } | undefined> {
  const rows = await stack.db.query<RowDataPacket[]>('SELECT ip, status FROM controleur WHERE id_controleur = ?', [mac]);
  return rows[0] ? { ip: String(rows[0].ip), status: Number(rows[0].status) } : undefined;
}

it.skipIf(!existsSync(LIBFAKETIME))('controller status follows the last event after the clock steps back an hour', async () => {
  const offsetFile = join(tempDir('parc-faketime-'), 'offset');
  writeFileSync(offsetFile, '+0\n');
  const bridge = await stack.startBridge({
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    FAKETIME_NO_CACHE: '1',
    // Timers and durations run on the monotonic clock, which a wall-clock step does not move.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  const mac = '24:6F:28:00:0D:01';
  const device = await stack.device(mac);
  await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '10.13.0.1', status: true }), 0);
  await waitFor('online', async () => (await controller(mac))?.status === 1);

  writeFileSync(offsetFile, '-1h\n');
  await publishAsync(device, `controleur/${mac}/disconnect`, '', 0);
  await waitFor('offline after the step', async () => (await controller(mac))?.status === 0, 20_000);
  await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '10.13.0.2', status: true }), 0);
  await waitFor('online again with its new address', async () => (await controller(mac))?.ip === '10.13.0.2', 20_000);
  expect(await controller(mac)).toEqual({ ip: '10.13.0.2', status: 1 });
  // The bridge's clock really moved: the last event is stamped an hour back.
  const [row] = await stack.db.query<RowDataPacket[]>('SELECT last_event_ms FROM bridge_controleur_event WHERE id_controleur = ?', [mac]);
  expect(Date.now() - Number(row!.last_event_ms)).toBeGreaterThan(3_500_000);
  await bridge.stop();
});
