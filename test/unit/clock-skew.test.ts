import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { measureSkew } from '../../src/db/clock-skew.js';

const originalTz = process.env.TZ;
beforeEach(() => (process.env.TZ = 'Europe/Paris'));
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

// 2024-05-17 10:00:00 UTC, 12:00:00 in Paris (CEST, UTC+2).
const T = Date.UTC(2024, 4, 17, 10, 0, 0);

describe('measureSkew', () => {
  it('is zero for the same clock and zone, taking the middle of the round trip', () => {
    const r = measureSkew({ before: T - 200, after: T + 200, dbUtc: '2024-05-17 10:00:00.000', dbLocal: '2024-05-17 12:00:00.000' });
    expect(r).toEqual({ skewSeconds: 0, zoneDifferenceSeconds: 0 });
  });

  it('is negative when the bridge is behind the database (clock stepped back one hour)', () => {
    const r = measureSkew({ before: T - 3_600_000, after: T - 3_600_000, dbUtc: '2024-05-17 10:00:00.000', dbLocal: '2024-05-17 12:00:00.000' });
    expect(r.skewSeconds).toBe(-3600);
    expect(r.zoneDifferenceSeconds).toBe(0);
  });

  it('tells a time zone mismatch apart from a clock skew', () => {
    // The database runs in UTC, the bridge in Europe/Paris: NOW() is two hours behind mesure_a.
    const r = measureSkew({ before: T, after: T, dbUtc: '2024-05-17 10:00:00.000', dbLocal: '2024-05-17 10:00:00.001' });
    expect(r).toEqual({ skewSeconds: 0, zoneDifferenceSeconds: -7200 });
  });
});
