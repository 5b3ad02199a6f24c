/**
 * The disk under DATA_DIR fills up mid-stream (a small tmpfs): the bridge stops acknowledging
 * (the broker keeps the messages), says why, and once space is back (the tmpfs grown) every
 * reading lands exactly once. Needs root to mount the tmpfs, as CI and the dev machine have.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { atExit } from '../../helpers/cleanup.js';
import { metricValue } from '../../helpers/metrics.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep } from '../../helpers/wait.js';

let stack: Stack;
let dataDir: string;
let mounted = false;
const mountTmpfs = (options: string) => execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dataDir], { stdio: 'pipe' });
const unmount = () => {
  if (mounted) execFileSync('umount', ['-l', dataDir]);
  mounted = false;
};

/** Mounting needs root (CI and the dev machine have it); elsewhere the test says it cannot run. */
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parc-bridge-small-disk-'));
  atExit(() => rmSync(dataDir, { recursive: true, force: true })); // runs last
  try {
    mountTmpfs('size=1m');
    mounted = true;
    atExit(unmount); // if the worker is killed before afterAll
  } catch (err) {
    console.warn(`disk-full test skipped: cannot mount a tmpfs here (${String(err).split('\n')[0]})`);
    return;
  }
  stack = await createStack();
});

afterAll(async () => {
  if (mounted) await stack?.close();
  unmount();
});

it('pauses when the disk is full and resumes without loss when space is back', async (ctx) => {
  if (!mounted) return ctx.skip();
  const bridge = await stack.startBridge({ DATA_DIR: dataDir, DB_RETRY_DELAY: '0.5' });
  const devices = await Promise.all([1, 2, 3, 4].map((n) => stack.device(`24:6F:28:00:07:0${n}`)));
  const stream = new SteadyStream(devices, 5).start(); // 800 msg/s: the journal's log outgrows 1 MiB

  await bridge.waitForLog(/"reason":"the local journal cannot be written"/, 60_000);
  expect(bridge.logs()).toMatch(/cannot write the local journal/);
  // Not a budget problem, and not a database outage.
  expect(await metricValue(bridge, 'parc_bridge_journal_full')).toBe(0);
  expect((await bridge.get('/readyz')).status).toBe(503);

  await sleep(2_000);
  mountTmpfs('remount,size=256m');
  await sleep(3_000);
  const sent = await stream.stop();
  const delivery = await waitForDelivery(stack.db, sent, 90_000);
  console.log('disk full:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  expect(await stack.db.count('error', "type_erreur = 'DB_ERROR'")).toBe(0);
  expect(bridge.child.exitCode).toBeNull();
});
