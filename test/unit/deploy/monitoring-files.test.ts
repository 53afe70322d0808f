import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import knexFactory from 'knex';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { PluginMetrics } from '../../../src/metrics/metrics';

/**
 * The shipped Grafana dashboard and Prometheus alert rules (deploy/): every expression parses
 * as PromQL (the Prometheus project's own grammar, strict: a syntax error throws), and every
 * metric they name is a series the plugin exports, read from the plugin's own registry.
 */
const ROOT = path.join(__dirname, '..', '..', '..');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'direct-callback.json');
const ALERTS = path.join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const promql = parser.configure({ strict: true });

/** The series names /metrics shows: a histogram as its _bucket, _sum and _count. */
function exportedSeries(): Set<string> {
  const db = knexFactory({ client: 'pg' });
  const metrics = new PluginMetrics({
    app: {
      admin: {
        now: () => 0,
        queueIds: () => [],
        queueFigures: () => undefined,
        estimatedWaitSec: () => 0,
        onMilestone: () => () => undefined,
      },
    },
    db,
    isAriConnected: () => true,
  });
  const names = new Set<string>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(m.name + s);
    else names.add(m.name);
  }
  metrics.stop();
  void db.destroy();
  return names;
}

/**
 * The metric names an expression selects (parses it: throws on a syntax error). Grafana's own
 * variables are replaced first: `$__interval` by a duration; `$queue` appears only in strings.
 */
function metricNames(expr: string): string[] {
  const tree = promql.parse(expr.replace(/\$__\w+/g, '5m'));
  const names: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.name !== 'Identifier' || node.node.parent?.name !== 'VectorSelector') return;
      names.push(expr.replace(/\$__\w+/g, '5m').slice(node.from, node.to));
    },
  });
  return names;
}

interface Target {
  expr?: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('deploy: Grafana dashboard and Prometheus alert rules', () => {
  const exported = exportedSeries();

  it('the checks themselves: a broken expression throws, names are found where they are', () => {
    expect(() => metricNames('sum by (queue (direct_callback_queue_callers)')).to.throw();
    expect(() => metricNames('rate(direct_callback_offers_total[5m')).to.throw();
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le) (rate(direct_callback_request_to_conversation_seconds_bucket{queue=~"$queue"}[$__interval]))) > on() group_left max(direct_callback_ari_connected)',
      ),
    ).to.deep.equal(['direct_callback_request_to_conversation_seconds_bucket', 'direct_callback_ari_connected']);
    expect(exported.has('direct_callback_request_to_conversation_seconds_bucket')).to.equal(true);
    expect(exported.has('direct_callback_not_a_metric')).to.equal(false);
  });

  it('the dashboard: valid JSON, every query parses and names only exported metrics', () => {
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      title: string;
      panels: Panel[];
      templating: { list: { name: string; definition?: string }[] };
    };
    expect(dash.uid).to.equal('direct-callback');
    const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
    expect(queries.length).to.be.greaterThan(15);
    const used = new Set<string>();
    for (const q of queries) {
      expect(q.expr, q.panel).not.to.equal('');
      let names: string[] = [];
      expect(() => (names = metricNames(q.expr)), `${q.panel}: ${q.expr}`).not.to.throw();
      expect(names, `${q.panel}: ${q.expr}`).to.have.length.above(0);
      for (const n of names) {
        expect(exported.has(n), `${q.panel}: ${n} is not exported by the plugin`).to.equal(true);
        used.add(n);
      }
    }
    // The queue variable's values come from an exported metric too.
    for (const v of dash.templating.list) {
      const m = /^label_values\((\w+),/.exec(v.definition ?? '');
      if (m?.[1]) expect(exported.has(m[1]), `variable ${v.name}`).to.equal(true);
    }
    // The histogram this dashboard was built for is on it.
    expect(used.has('direct_callback_request_to_conversation_seconds_bucket')).to.equal(true);
    // Panels do not overlap on Grafana's 24-column grid.
    const cells = new Set<string>();
    for (const p of panels.filter((x) => x.gridPos)) {
      const g = p.gridPos as NonNullable<Panel['gridPos']>;
      expect(g.x + g.w, p.title).to.be.at.most(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel`).to.equal(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('the alert rules: valid YAML, each rule complete, each expression parses and names only exported metrics', () => {
    const doc = parseYaml(fs.readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size, 'alert names are unique').to.equal(names.length);
    for (const wanted of [
      'DirectCallbackAriDisconnected',
      'DirectCallbackCallbackOwedTooLong',
      'DirectCallbackStandbyGroupWithoutLeader',
      'DirectCallbackWaitEstimateErrorGrowing',
      'DirectCallbackDatabaseErrors',
    ])
      expect(names).to.include(wanted);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).to.match(/^DirectCallback[A-Za-z]+$/);
      expect(r.for, r.alert).to.match(/^\d+[smh]$/);
      expect(r.labels?.severity, r.alert).to.be.oneOf(['warning', 'critical']);
      expect(r.annotations?.summary, r.alert).to.be.a('string');
      const expr = r.expr ?? '';
      let used: string[] = [];
      expect(() => (used = metricNames(expr)), `${r.alert}: ${expr}`).not.to.throw();
      expect(used, r.alert).to.have.length.above(0);
      for (const n of used) expect(exported.has(n), `${r.alert}: ${n} is not exported by the plugin`).to.equal(true);
    }
  });
});
