import { describe, expect, it } from 'vitest';
import { SensorTracker } from '../../src/watch/sensor-tracker.js';

const S = 60_000; // SILENCE_AFTER
const WALL0 = Date.UTC(2026, 4, 1, 8, 0, 0);
const row = (bac: number, capteur: number, value: number, at: number) => ({ bac, capteur, value, at });

/** A tracker with two sensors read at t=0 (monotonic 0 = WALL0), listening since t=0. */
function tracker() {
  const t = new SensorTracker(S);
  t.record([row(1, 1, 40, WALL0), row(1, 2, 21.5, WALL0)], WALL0, 0);
  return t;
}
/** `listeningSince` null: not subscribed. */
const judge = (t: SensorTracker, nowMono: number, lagMs = 0, listeningSince: number | null = 0) =>
  t.judge({ nowMono, lagMs, listeningSinceMono: listeningSince ?? undefined });

describe('SensorTracker', () => {
  it('keeps the last value and time of each sensor', () => {
    const t = tracker();
    t.record([row(1, 1, 41, WALL0 + 5_000)], WALL0 + 5_000, 5_000);
    t.record([row(1, 1, 39, WALL0 + 1_000)], WALL0 + 6_000, 6_000); // older: ignored
    expect(t.size).toBe(2);
    expect(t.sensorsOf(1)!.get(1)).toMatchObject({ value: 41, atWall: WALL0 + 5_000, atMono: 5_000 });
  });

  it('declares a sensor silent once after SILENCE_AFTER, and back when it reports again', () => {
    const t = tracker();
    t.record([row(1, 1, 42, WALL0 + 50_000)], WALL0 + 50_000, 50_000);
    expect(judge(t, S)).toEqual({ silent: [], back: [] });
    const first = judge(t, S + 1);
    expect(first.silent.map((s) => s.capteur)).toEqual([2]);
    expect(t.silentCount).toBe(1);
    expect(judge(t, S + 30_000)).toEqual({ silent: [], back: [] }); // no second WARN
    t.record([row(1, 2, 22, WALL0 + S + 40_000)], WALL0 + S + 40_000, S + 40_000);
    expect(judge(t, S + 41_000).back.map((s) => s.capteur)).toEqual([2]);
    expect(t.silentCount).toBe(0);
  });

  it('does not call readings waiting for the database silence (lag)', () => {
    const t = tracker();
    // 90 s later, but the database has been down for 40 s: judged at 50 s.
    expect(judge(t, 90_000, 40_000).silent).toEqual([]);
    expect(judge(t, 90_000, 0).silent).toHaveLength(2);
  });

  it('declares nothing newly silent until it has listened for a whole SILENCE_AFTER', () => {
    const t = tracker();
    expect(judge(t, 5 * S, 0, null).silent).toEqual([]); // not subscribed
    expect(judge(t, 5 * S, 0, 5 * S - 1_000).silent).toEqual([]); // just subscribed again
    expect(judge(t, 6 * S, 0, 5 * S - 1_000).silent).toHaveLength(2);
  });

  it('ages a reading received before its commit by its receipt time', () => {
    const t = new SensorTracker(S);
    // Committed at monotonic 100 s, received 70 s earlier (a backlog after an outage).
    t.record([row(3, 1, 10, WALL0 - 70_000)], WALL0, 100_000);
    expect(t.ageMs(t.sensorsOf(3)!.get(1)!, 100_000)).toBe(70_000);
  });

  it('forgets sensors of removed bacs or capteurs, silent ones included', () => {
    const t = tracker();
    t.record([row(2, 1, 1, WALL0)], WALL0, 0);
    judge(t, S + 1);
    expect(t.silentCount).toBe(3);
    expect(t.keepOnly((bac) => bac === 1, (capteur) => capteur === 1)).toBe(2);
    expect(t.size).toBe(1);
    expect(t.silentCount).toBe(1);
    expect(t.sensorsOf(2)).toBeUndefined();
    expect([...t.all()].map((s) => [s.bac, s.capteur])).toEqual([[1, 1]]);
  });
});
