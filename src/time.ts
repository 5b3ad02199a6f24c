/** Times as the `parc` database stores them: DATETIME in the zone set by TZ (the process zone). */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS` in the process time zone. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** `HH:MM:SS` in the process time zone, for sentences. */
export function formatTime(ms: number): string {
  return formatDateTime(ms).slice(11);
}

/**
 * Milliseconds on a clock that only moves forward (CLOCK_MONOTONIC), for durations: cache ages,
 * timers, windows. Wall-clock time (Date.now) may be stepped by NTP or a VM restore; it is for
 * timestamps that are stored or shown, never for measuring how long something took.
 */
export function monotonicMs(): number {
  return performance.now();
}
