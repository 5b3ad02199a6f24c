import { describe, expect, it } from 'vitest';
import { ReadingsSilence } from '../../src/watch/readings-silence.js';

const AFTER = 600_000;

describe('ReadingsSilence (subscribed, yet no reading at all)', () => {
  it('warns once per silent period and says when readings come back', () => {
    const s = new ReadingsSilence(AFTER);
    expect(s.update(0, 0, 1_000, 0)).toBeUndefined();
    expect(s.update(0, AFTER - 1, 1_000, 0)).toBeUndefined();
    expect(s.update(0, AFTER, 1_000, 0)).toBe('silent');
    expect(s.silent).toBe(true);
    expect(s.update(0, 3 * AFTER, 1_000, 0)).toBeUndefined(); // the same period: no second WARN
    expect(s.update(1, 3 * AFTER + 1, 5_000, 0)).toBe('back');
    expect(s.silent).toBe(false);
    expect(s.lastReadingAt).toBe(5_000);
    expect(s.silentForMs(3 * AFTER + 1_001, 0)).toBe(1_000);
  });

  it('counts only the time subscribed: not before, and from each new subscription', () => {
    const s = new ReadingsSilence(AFTER);
    expect(s.update(0, 2 * AFTER, 0, undefined)).toBeUndefined();
    expect(s.silentForMs(2 * AFTER, undefined)).toBe(0);
    expect(s.update(0, 2 * AFTER, 0, AFTER + 1)).toBeUndefined();
    expect(s.update(0, 2 * AFTER + 1, 0, AFTER + 1)).toBe('silent');
  });

  it('does not warn while readings keep arriving', () => {
    const s = new ReadingsSilence(AFTER);
    for (let i = 1; i <= 10; i++) expect(s.update(i, i * (AFTER / 2), 0, 0)).toBeUndefined();
  });
});
