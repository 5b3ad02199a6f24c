import { describe, expect, it } from 'vitest';
import { CONFLICT_BACKOFF_CAP_MS, conflictBackoffMs } from '../../src/pipeline/backoff.js';

describe('conflictBackoffMs', () => {
  it('waits a random time in a window that doubles with each attempt, up to the cap', () => {
    const windows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempt) => conflictBackoffMs(attempt, () => 0.999999) + 1);
    expect(windows).toEqual([25, 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    expect(conflictBackoffMs(3, () => 0)).toBe(0);
    expect(conflictBackoffMs(3, () => 0.5)).toBe(50);
  });

  it('spreads instances that conflicted together', () => {
    const waits = Array.from({ length: 200 }, () => conflictBackoffMs(4));
    expect(new Set(waits).size).toBeGreaterThan(50);
    expect(Math.max(...waits)).toBeLessThan(200);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(conflictBackoffMs(100)).toBeLessThan(CONFLICT_BACKOFF_CAP_MS);
  });
});
