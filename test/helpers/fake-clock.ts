/**
 * A wall clock the test can step, for the bridge process only: libfaketime (Debian's faketime)
 * preloaded, its offset read from a file at every call. The monotonic clock is left alone, as a
 * real NTP step or VM restore leaves it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cleanup.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

export const fakeClockAvailable = existsSync(LIBFAKETIME);

export interface FakeClock {
  /** Environment variables for the bridge process. */
  env: Record<string, string>;
  /** Sets the offset from the real time, in faketime's notation: '+0', '-1h'. */
  step(offset: string): void;
}

export function fakeClock(): FakeClock {
  const offsetFile = join(tempDir('parc-faketime-'), 'offset');
  const step = (offset: string) => writeFileSync(offsetFile, `${offset}\n`);
  step('+0');
  return {
    env: {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      DONT_FAKE_MONOTONIC: '1',
    },
    step,
  };
}
