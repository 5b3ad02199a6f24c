/**
 * A journal older than its database, as after a DATA_DIR restored from a backup: a copy of the
 * journal is kept after a first run, a second run moves the database further, then the copy
 * is put back in place of the journal.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir } from './cleanup.js';
import { SteadyStream, waitForDelivery } from './readings.js';
import type { Stack } from './stack.js';
import { sleep } from './wait.js';

/** Two devices publish at QoS 0 to bacs `firstBac` and `firstBac + 1`; stop() says what was sent. */
export async function readingsOn(stack: Stack, firstBac: number): Promise<{ stop(): Promise<Map<number, number>> }> {
  const devices = await Promise.all([0, 1].map((d) => stack.device(`24:6F:28:00:0D:${String(firstBac).padStart(2, '0')}${d}`)));
  const stream = new SteadyStream(devices, 20, firstBac, 0).start();
  return {
    async stop() {
      const sent = await stream.stop();
      for (const d of devices) d.end();
      return sent;
    },
  };
}

/** Readings for `ms` on bacs `firstBac` and `firstBac + 1`. */
export async function readingsFor(stack: Stack, firstBac: number, ms: number): Promise<Map<number, number>> {
  const stream = await readingsOn(stack, firstBac);
  await sleep(ms);
  return stream.stop();
}

/**
 * Two runs of a bridge on one DATA_DIR (bacs 1–2, then 3–4), each written to the end; returns a
 * copy of the journal as it was between them, and what both runs wrote.
 */
export async function databaseAheadOfACopy(stack: Stack, env: Record<string, string> = {}): Promise<{ dataDir: string; olderCopy: string; earlier: Map<number, number> }> {
  const first = await stack.startBridge(env);
  const one = await readingsFor(stack, 1, 2_000);
  await waitForDelivery(stack.db, one);
  expect(await first.stop('SIGTERM')).toBe(0);
  const olderCopy = tempDir('parc-older-journal-');
  cpSync(first.dataDir, olderCopy, { recursive: true });

  const second = await stack.startBridge({ ...env, DATA_DIR: first.dataDir });
  const two = await readingsFor(stack, 3, 2_000);
  await waitForDelivery(stack.db, two);
  expect(await second.stop('SIGTERM')).toBe(0);
  return { dataDir: first.dataDir, olderCopy, earlier: new Map([...one, ...two]) };
}

/** The older copy in place of the journal, as a restore of DATA_DIR leaves it. */
export function putBack(olderCopy: string, dataDir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `journal.sqlite${suffix}`), { force: true });
  cpSync(olderCopy, dataDir, { recursive: true });
}
