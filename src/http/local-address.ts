/**
 * The address a process on the same machine (or in the same container) uses to reach the HTTP
 * server bound to `host`: a wildcard bind is reached on the loopback, a specific address on itself.
 */
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

export function localBaseUrl(host: string | undefined, port: number): string {
  const bound = (host ?? '').trim();
  if (WILDCARDS.has(bound)) return `http://127.0.0.1:${port}`;
  return bound.includes(':') ? `http://[${bound}]:${port}` : `http://${bound}:${port}`;
}
