// The observability pack (cluster/monitoring) names only metrics a live node serves (issue 11): every metric in the
// Prometheus alert rules and in the Grafana dashboard's queries is a family in /metrics of a running node, and the
// rules cover the conditions an operator is paged for.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { useClientFixtures } from './client-harness.js';

const { singleNode, client } = useClientFixtures();

/** The metric names in a PromQL expression (`rate(x_bucket[5m])` names x_bucket). */
function metricNames(expression: string): string[] {
  return [...expression.matchAll(/\b((?:forelock|process|nodejs)_[a-z0-9_]+)\b/g)].map((match) => match[1]!);
}

/** The family a series belongs to: a histogram's _bucket, _sum and _count series are its own name's. */
function familyOf(name: string, families: ReadonlySet<string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(name) ? name : base;
}

interface AlertRules {
  groups: { rules: { alert: string; expr: string }[] }[];
}

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: unknown }[] };
}

describe('cluster/monitoring', () => {
  it('names only metrics that a live node serves', async () => {
    const rules = parse(await readFile('cluster/monitoring/alerts.yaml', 'utf8')) as AlertRules;
    const dashboard = JSON.parse(await readFile('cluster/monitoring/grafana-dashboard.json', 'utf8')) as Dashboard;
    const expressions = [
      ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...dashboard.templating.list.flatMap((variable) => (typeof variable.query === 'string' ? [variable.query] : [])),
    ];
    const named = new Set(expressions.flatMap(metricNames));
    expect(named.size).toBeGreaterThan(20);

    const { endpoint, node } = await singleNode();
    const sdk = await client([endpoint], 'monitoring');
    await (await sdk.acquire('monitoring/lock')).release();
    const text = await (await fetch(`http://127.0.0.1:${node.httpAddress.port}/metrics`)).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
    const missing = [...named].filter((name) => !families.has(familyOf(name, families)));
    expect(missing).toEqual([]);
  });

  it('alerts on no leader, leader changes, slow fsync, lagging peers, pre-emption storms and expiring sessions', async () => {
    const rules = parse(await readFile('cluster/monitoring/alerts.yaml', 'utf8')) as AlertRules;
    const byMetric = (metric: string) =>
      rules.groups
        .flatMap((group) => group.rules)
        .filter((rule) => metricNames(rule.expr).some((name) => name.startsWith(metric)));
    for (const metric of [
      'forelock_has_leader',
      'forelock_leader_changes_total',
      'forelock_fsync_duration_seconds',
      'forelock_peer_lag_entries',
      'forelock_forced_revocations_total',
      'forelock_session_expiries_total',
    ]) {
      expect(byMetric(metric).map((rule) => rule.alert)).toHaveLength(1);
    }
  });
});
