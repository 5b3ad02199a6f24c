/** Reading prom-client counters back: the status page and the summary log show what /metrics counts. */

/** What is read of a prom-client counter: its values, with their labels. */
export interface CounterLike {
  get(): Promise<{ values: ReadonlyArray<{ value: number; labels?: Partial<Record<string, string | number>> }> }>;
}

/** Sum of a counter over all its label values. */
export async function counterTotal(counter: CounterLike): Promise<number> {
  const { values } = await counter.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** A counter's values summed by the value of one of its labels. */
export async function counterByLabel(counter: CounterLike, label: string): Promise<Map<string, number>> {
  const { values } = await counter.get();
  const totals = new Map<string, number>();
  for (const v of values) {
    const key = String(v.labels?.[label] ?? '');
    totals.set(key, (totals.get(key) ?? 0) + v.value);
  }
  return totals;
}
