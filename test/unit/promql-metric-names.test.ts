import { describe, expect, it } from 'vitest';
import { grafanaVariableMetricNames, promqlMetricNames } from '../helpers/promql-metric-names.js';

describe('promqlMetricNames', () => {
  it('finds the metrics, not the functions, labels, ranges or keywords', () => {
    expect(promqlMetricNames('sum by (type) (rate(parc_bridge_errors_total{instance=~"$instance", type!="x"}[$__rate_interval])) * 60 > 10')).toEqual(['parc_bridge_errors_total']);
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m])))')).toEqual(['a_bucket']);
    expect(promqlMetricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m]))')).toEqual(['a_sum', 'a_count']);
    expect(promqlMetricNames('up{job="parc-bridge"} == 0')).toEqual(['up']);
    expect(promqlMetricNames('sort_desc(time() - last_ts{x="a b"})')).toEqual(['last_ts']);
    expect(promqlMetricNames('a == 1 and on (instance) b offset 5m unless ignoring(x) c > 1e3')).toEqual(['a', 'b', 'c']);
    expect(promqlMetricNames('x_total{l="rate(y)"}')).toEqual(['x_total']);
  });

  it('reads the metric of a Grafana label_values query', () => {
    expect(grafanaVariableMetricNames('label_values(parc_bridge_ready, instance)')).toEqual(['parc_bridge_ready']);
  });
});
