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
