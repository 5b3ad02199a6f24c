/**
 * How long to wait before trying a transaction again after a conflict (a deadlock, a lock wait
 * timeout, a Galera certification failure): "full jitter" exponential backoff. Several bridges
 * (a shared group, or the nodes of a Galera cluster) that conflicted at the same moment would
 * conflict again if they all retried at once; random waits in a window that doubles each time
 * spread them apart.
 */

export const CONFLICT_BACKOFF_BASE_MS = 25;
export const CONFLICT_BACKOFF_CAP_MS = 2_000;

/** A wait in [0, min(cap, base × 2^(attempt − 1))) ms, for the `attempt`-th retry (from 1). */
export function conflictBackoffMs(attempt: number, random: () => number = Math.random): number {
  const window = Math.min(CONFLICT_BACKOFF_CAP_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * window);
}
