import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDateTime, formatTime } from '../../src/time.js';

// time.ts formats in the process time zone, which Node takes from process.env.TZ (also when it
// changes at run time). Each test sets it; the original value is restored afterwards.
const originalTz = process.env.TZ;

function useTz(tz: string): void {
  process.env.TZ = tz;
}

beforeEach(() => useTz('UTC'));
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe('formatDateTime', () => {
  it('formats as a MySQL DATETIME (YYYY-MM-DD HH:MM:SS) with zero padding', () => {
    expect(formatDateTime(Date.UTC(2024, 2, 5, 4, 5, 6))).toBe('2024-03-05 04:05:06');
    expect(formatDateTime(Date.UTC(2024, 11, 31, 23, 59, 59))).toBe('2024-12-31 23:59:59');
    expect(formatDateTime(0)).toBe('1970-01-01 00:00:00');
  });

  it('drops milliseconds (DATETIME has whole seconds)', () => {
    expect(formatDateTime(Date.UTC(2024, 0, 1, 0, 0, 0, 999))).toBe('2024-01-01 00:00:00');
  });

  it('uses the zone set by TZ, daylight saving time included', () => {
    useTz('Europe/Paris');
    expect(formatDateTime(Date.UTC(2024, 0, 15, 12, 0, 0))).toBe('2024-01-15 13:00:00'); // CET
    expect(formatDateTime(Date.UTC(2024, 6, 1, 12, 0, 0))).toBe('2024-07-01 14:00:00'); // CEST
    // The night of the change to summer time: 01:59:59 UTC is 03:59:59 CEST.
    expect(formatDateTime(Date.UTC(2024, 2, 31, 0, 59, 59))).toBe('2024-03-31 01:59:59');
    expect(formatDateTime(Date.UTC(2024, 2, 31, 1, 0, 0))).toBe('2024-03-31 03:00:00');
  });

  it('changes the date across midnight in the local zone', () => {
    useTz('America/Martinique'); // UTC-4, no DST
    expect(formatDateTime(Date.UTC(2024, 0, 1, 2, 30, 0))).toBe('2023-12-31 22:30:00');
  });
});

describe('formatTime', () => {
  it('gives HH:MM:SS in the process zone', () => {
    expect(formatTime(Date.UTC(2024, 2, 5, 4, 5, 6))).toBe('04:05:06');
    useTz('Europe/Paris');
    expect(formatTime(Date.UTC(2024, 6, 1, 12, 0, 7))).toBe('14:00:07');
  });
});
