import type { BridgeProcess } from './bridge-process.js';

/**
 * The value of a metric (summed over its labels) from a running bridge's /metrics; throws for a
 * metric the bridge does not declare, so that a renamed metric cannot read as 0.
 */
export async function metricValue(bridge: BridgeProcess, name: string, labels = ''): Promise<number> {
  const { body } = await bridge.get('/metrics');
  const declared = body.split('\n').some((line) => {
    const base = line.startsWith('# TYPE ') ? line.split(' ')[2]! : undefined;
    return base !== undefined && (name === base || name.startsWith(`${base}_`));
  });
  if (!declared) throw new Error(`/metrics declares no metric ${name}`);
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
