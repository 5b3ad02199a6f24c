/** The throughput sampler: deltas of the real Prometheus counters, driven by a fake clock. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { ThroughputSampler } from '../../src/status/throughput.js';

function setup(capacity = 90) {
  const metrics = new Metrics(false);
  let now = 1_000_000;
  const sampler = new ThroughputSampler(metrics, { intervalMs: 10_000, capacity, now: () => now });
  const advance = (ms = 10_000) => (now += ms);
  return { metrics, sampler, advance };
}

describe('ThroughputSampler', () => {
  it('records what arrived in each window, summed over every label', async () => {
    const { metrics, sampler, advance } = setup();
    metrics.messagesReceived.inc({ kind: 'reading' }, 7); // before the baseline: not in any window
    await sampler.tick();
    expect(sampler.samples()).toEqual([]);

    metrics.messagesReceived.inc({ kind: 'reading' }, 5);
    metrics.messagesReceived.inc({ kind: 'controller' }, 2);
    metrics.rowsWritten.inc({ table: 'mesure' }, 12);
    metrics.rowsWritten.inc({ table: 'error' }, 1);
    advance();
    await sampler.tick();

    advance();
    await sampler.tick(); // a quiet window is a sample of zeros, not a gap

    expect(sampler.samples()).toEqual([
      { at: 1_010_000, seconds: 10, received: 7, written: 13 },
      { at: 1_020_000, seconds: 10, received: 0, written: 0 },
    ]);
  });

  it('keeps only the last `capacity` samples, oldest first', async () => {
    const { metrics, sampler, advance } = setup(3);
    await sampler.tick();
    for (let i = 1; i <= 5; i++) {
      metrics.messagesReceived.inc({ kind: 'reading' }, i);
      advance();
      await sampler.tick();
    }
    expect(sampler.samples().map((s) => s.received)).toEqual([3, 4, 5]);
  });

  it('keeps 15 minutes of 10 s samples by default', async () => {
    const sampler = new ThroughputSampler(new Metrics(false));
    expect(sampler.capacity * sampler.intervalMs).toBe(15 * 60_000);
  });

  it('reports the window in progress without closing it', async () => {
    const { metrics, sampler, advance } = setup();
    expect(await sampler.current()).toBeUndefined();
    await sampler.tick();
    metrics.messagesReceived.inc({ kind: 'reading' }, 4);
    metrics.rowsWritten.inc({ table: 'mesure' }, 3);
    advance(2_500);
    expect(await sampler.current()).toEqual({ at: 1_002_500, seconds: 2.5, received: 4, written: 3 });
    expect(sampler.samples()).toEqual([]);

    advance(7_500);
    await sampler.tick();
    expect(sampler.samples()).toEqual([{ at: 1_010_000, seconds: 10, received: 4, written: 3 }]);
    expect(await sampler.current()).toEqual({ at: 1_010_000, seconds: 0, received: 0, written: 0 });
  });

  it('concurrent ticks produce one sample each, never double counting', async () => {
    const { metrics, sampler, advance } = setup();
    await sampler.tick();
    metrics.messagesReceived.inc({ kind: 'reading' }, 6);
    advance();
    await Promise.all([sampler.tick(), sampler.tick()]);
    expect(sampler.samples().map((s) => s.received)).toEqual([6, 0]);
  });

  it('start takes the baseline at once: what came before is not counted', async () => {
    const { metrics, sampler, advance } = setup();
    metrics.messagesReceived.inc({ kind: 'reading' }, 9);
    await sampler.start();
    await sampler.start(); // idempotent: a second timer or baseline would break the windows
    metrics.messagesReceived.inc({ kind: 'reading' }, 4);
    advance();
    await sampler.tick();
    sampler.stop();
    expect(sampler.samples()).toEqual([{ at: 1_010_000, seconds: 10, received: 4, written: 0 }]);
  });
});
