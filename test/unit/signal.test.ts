import { describe, expect, it } from 'vitest';
import { Signal } from '../../src/pipeline/signal.js';

describe('Signal', () => {
  it('wakes a waiter on notify (true), long before its timeout', async () => {
    const signal = new Signal();
    const waiting = signal.wait(60_000);
    setTimeout(() => signal.notify(), 10);
    expect(await waiting).toBe(true);
  });

  it('resolves at once when a notify came before the wait', async () => {
    const signal = new Signal();
    signal.notify();
    expect(await signal.wait(60_000)).toBe(true);
  });

  it('coalesces several notifies into one wake-up', async () => {
    const signal = new Signal();
    signal.notify();
    signal.notify();
    signal.notify();
    expect(await signal.wait(60_000)).toBe(true);
    expect(await signal.wait(20)).toBe(false);
  });

  it('resolves false after the timeout when nobody notifies', async () => {
    expect(await new Signal().wait(20)).toBe(false);
  });

  it('does not keep a notify that woke a waiter for the next wait', async () => {
    const signal = new Signal();
    const first = signal.wait(60_000);
    signal.notify();
    expect(await first).toBe(true);
    expect(await signal.wait(20)).toBe(false);
  });

  it('keeps a notify that came after a wait timed out', async () => {
    const signal = new Signal();
    expect(await signal.wait(5)).toBe(false);
    signal.notify();
    expect(await signal.wait(60_000)).toBe(true);
  });
});
