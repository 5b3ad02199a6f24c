/**
 * The monitoring the project ships (deploy/): the Prometheus alert rules pass `promtool check
 * rules` and their unit tests (`promtool test rules`), where every alert is seen firing and not
 * firing; the Grafana dashboard is importable JSON on a Prometheus data source variable whose
 * expressions parse; and every metric the rules and the dashboard name is one a running bridge
 * exports on /metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { BridgeProcess } from '../helpers/bridge-process.js';
import { tempDir } from '../helpers/cleanup.js';
import { grafanaVariableMetricNames, promqlMetricNames } from '../helpers/promql-metric-names.js';
import { createStack, type Stack } from '../helpers/stack.js';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');
const RULES = join(DEPLOY, 'prometheus/parc-bridge-alerts.yml');
const RULES_TESTS = join(DEPLOY, 'prometheus/parc-bridge-alerts.test.yml');
const DASHBOARD = join(DEPLOY, 'grafana/parc-bridge.json');
/** Debian's `prometheus` package. */
const PROMTOOL = '/usr/bin/promtool';
/** Made by Prometheus itself for every scrape target, not by the bridge. */
const PROMETHEUS_OWN = new Set(['up']);

interface Rule {
  alert: string;
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.out).toContain('SUCCESS: 12 rules found');
    expect(r.code).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', () => {
    const r = promtool('test', 'rules', RULES_TESTS);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('cover each alert of the issue, each seen firing and not firing', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'ParcBridgeBacklogOld',
        'ParcBridgeBrokerDisconnected',
        'ParcBridgeCertificateExpiring',
        'ParcBridgeDatabaseDisconnected',
        'ParcBridgeDatabaseWentBack',
        'ParcBridgeDown',
        'ParcBridgeErrorRateHigh',
        'ParcBridgeJournalFull',
        'ParcBridgeNoReadings',
        'ParcBridgeNotReady',
        'ParcBridgeRefillGap',
        'ParcBridgeSensorsSilent',
      ].sort(),
    );
    const cases = (parse(readFileSync(RULES_TESTS, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests.flatMap(
      (t) => t.alert_rule_test,
    );
    for (const { alert } of rules) {
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} fired`).toBe(true);
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} not fired`).toBe(true);
    }
  });
});

describe('Grafana dashboard', () => {
  it('is importable JSON on a Prometheus data source variable', () => {
    expect(dashboard).toMatchObject({ uid: 'parc-bridge', schemaVersion: expect.any(Number) });
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const shown of ['Messages reçus', 'Lignes écrites', 'Erreurs', "Messages en attente", 'Âge du plus ancien', 'commit', 'Broker MQTT', 'Base de données', 'Capteurs silencieux', 'certificats']) {
      expect(titles).toContain(shown);
    }
  });

  it('has only expressions Prometheus parses', () => {
    // Each expression as a recording rule, with Grafana's variables given a value.
    const asRules = dashboardExprs.map((expr, i) => ({
      record: `dashboard:expr_${i}`,
      expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'),
    }));
    const file = join(tempDir('parc-dashboard-'), 'dashboard-exprs.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
    const r = promtool('check', 'rules', file);
    expect(r.out).toContain(`SUCCESS: ${asRules.length} rules found`);
    expect(r.code).toBe(0);
  });
});

describe('metric names of the rules and the dashboard', () => {
  let stack: Stack;
  let bridge: BridgeProcess;

  beforeAll(async () => {
    stack = await createStack();
    bridge = await stack.startBridge();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are all exported by a running bridge', async () => {
    const { body } = await bridge.get('/metrics');
    const exported = new Set<string>();
    for (const line of body.split('\n')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (!m) continue;
      const [, name, type] = m as unknown as [string, string, string];
      exported.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) exported.add(name + suffix);
    }
    const variables = dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => (typeof v.query === 'string' ? v.query : v.query.query));
    const named = new Set([
      ...rules.flatMap((r) => promqlMetricNames(r.expr)),
      ...dashboardExprs.flatMap((e) => promqlMetricNames(e)),
      ...variables.flatMap((q) => grafanaVariableMetricNames(q)),
    ]);
    // The check must have something to check: a broken extraction would pass vacuously.
    expect(named.size).toBeGreaterThan(15);
    const missing = [...named].filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n));
    expect(missing).toEqual([]);
  });
});
