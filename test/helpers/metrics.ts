import type { BridgeProcess } from './bridge-process.js';

/** The value of a metric (summed over its labels) from a running bridge's /metrics. */
export async function metricValue(bridge: BridgeProcess, name: string, labels = ''): Promise<number> {
  const { body } = await bridge.get('/metrics');
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
