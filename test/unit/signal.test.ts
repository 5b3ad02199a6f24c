import { describe, expect, it } from 'vitest';
import { Signal } from '../../src/pipeline/signal.js';

/** Resolves with 'woken' if `p` settles within `ms`, else 'timeout'. */
async function within(p: Promise<void>, ms: number): Promise<'woken' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const result = await Promise.race([p.then(() => 'woken' as const), timeout]);
  clearTimeout(timer);
  return result;
}

describe('Signal', () => {
  it('wakes a waiter on notify, long before its timeout', async () => {
    const signal = new Signal();
    const started = Date.now();
    const waiting = signal.wait(10_000);
    setTimeout(() => signal.notify(), 10);
    expect(await within(waiting, 2_000)).toBe('woken');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('resolves at once when a notify came before the wait', async () => {
    const signal = new Signal();
    signal.notify();
    expect(await within(signal.wait(10_000), 50)).toBe('woken');
  });

  it('coalesces several notifies into one wake-up', async () => {
    const signal = new Signal();
    signal.notify();
    signal.notify();
    signal.notify();
    expect(await within(signal.wait(10_000), 50)).toBe('woken');
    expect(await within(signal.wait(10_000), 50)).toBe('timeout');
  });

  it('resolves after the timeout when nobody notifies', async () => {
    const signal = new Signal();
    const started = Date.now();
    await signal.wait(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('does not keep a notify that woke a waiter for the next wait', async () => {
    const signal = new Signal();
    const first = signal.wait(10_000);
    signal.notify();
    await first;
    expect(await within(signal.wait(10_000), 50)).toBe('timeout');
  });

  it('keeps a notify that came after a wait timed out', async () => {
    const signal = new Signal();
    await signal.wait(5);
    signal.notify();
    expect(await within(signal.wait(10_000), 50)).toBe('woken');
  });
});
