/**
 * The bridge's wall clock stepped back one hour mid-run (an NTP step, a VM restored): controller
 * status still follows the last event. libfaketime moves the bridge process's clock only.
 */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { controleurRow } from '../../helpers/controleur.js';
import { fakeClock, fakeClockAvailable } from '../../helpers/fake-clock.js';
import { publishAsync } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { waitFor } from '../../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

const controller = (mac: string) => controleurRow(stack.db, mac);

it.skipIf(!fakeClockAvailable)('controller status follows the last event after the clock steps back an hour', async () => {
  const clock = fakeClock();
  const bridge = await stack.startBridge(clock.env);
  const mac = '24:6F:28:00:0D:01';
  const device = await stack.device(mac);
  await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '10.13.0.1', status: true }), 0);
  await waitFor('online', async () => (await controller(mac))?.status === 1);

  clock.step('-1h');
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
