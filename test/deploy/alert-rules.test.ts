import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../src/paths.js';
import { testApp } from '../helpers/app.js';

interface Rule { alert?: string; expr?: unknown; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }

const RULES = path.join(packageRoot, 'deploy', 'prometheus', 'alerts.yml');

/** Series Prometheus makes itself, not genjobs. */
const PROMETHEUS_OWN = new Set(['up']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * grouping label lists, numbers and durations are taken out, and that is not a function or an
 * aggregation (followed by a parenthesis or its grouping) or a keyword.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()')
    .replace(/\b\d[\w.]*/g, '0');
  // An aggregation may put its grouping first: `sum by (le) (...)`.
  return [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*(\(|by\b|without\b))/g)].map((m) => m[1]!).filter((n) => !KEYWORDS.has(n.toLowerCase()));
}

/** The label names an expression matches on, per metric: `name{label="…", other!~"…"}`. */
export function matchedLabels(expr: string): [string, string[]][] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)].map((m) => [m[1]!, [...m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)]);
}

/** Every sample name a scrape can hold: each family's name, and a histogram's or summary's series. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Prometheus' own checker, when installed (Debian: apt-get install prometheus); CI does without it. */
const promtool = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'promtool')).find((f) => fs.existsSync(f));

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', { skip: promtool ? false : 'promtool is not installed' }, () => {
    const r = spawnSync(promtool!, ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  it('reads the names of the metrics an expression uses', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.95, sum by (le, model) (rate(genjobs_job_dispatch_seconds_bucket{route!~".*/x|y"}[10m]))) > 60 and up offset 5m'),
      ['genjobs_job_dispatch_seconds_bucket', 'up'],
    );
  });

  it('reads the label names an expression matches on', () => {
    assert.deepEqual(matchedLabels('sum(rate(a_total{status=~"5..", route!="x{y}"}[5m])) / b{kind="jobs"} and up{job="genjobs"}'),
      [['a_total', ['status', 'route']], ['b', ['kind']], ['up', ['job']]]);
  });

  it('is well-formed, and every metric its rules read is one genjobs exports on a live /metrics', async (t) => {
    const doc = parse(fs.readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 10, `${rules.length} rules`);
    const seen = new Set<string>();
    const used = new Set<string>();
    for (const rule of rules) {
      assert.equal(typeof rule.alert, 'string', JSON.stringify(rule));
      assert.ok(!seen.has(rule.alert!), `${rule.alert} twice`);
      seen.add(rule.alert!);
      assert.equal(typeof rule.expr, 'string', `${rule.alert}: expr`);
      assert.match(rule.labels?.severity ?? '', /^(critical|warning|info)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smh]$/, `${rule.alert}: for`);
      const names = metricNames(rule.expr as string);
      assert.ok(names.length > 0, `${rule.alert} reads no metric`);
      for (const n of names) used.add(n);
    }

    const app = await testApp();
    t.after(() => app.dispose());
    const res = await app.server.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    const have = exported(res.body);
    const unknown = [...used].filter((n) => !have.has(n) && !PROMETHEUS_OWN.has(n));
    assert.deepEqual(unknown, [], `metrics the rules read that genjobs does not export: ${unknown.join(', ')}`);
    // Every label a rule matches on is one the metric has (or one Prometheus adds to every series).
    const exprs = rules.map((r) => r.expr as string);
    for (const [name, labels] of exprs.flatMap(matchedLabels)) {
      if (PROMETHEUS_OWN.has(name)) continue;
      const family = name.replace(/_(bucket|sum|count)$/, '');
      const metric = app.metrics.registry.getSingleMetric(app.metrics.registry.getSingleMetric(name) ? name : family);
      assert.ok(metric, name);
      const known = new Set([...((metric as unknown as { labelNames?: string[] }).labelNames ?? []), 'job', 'instance', ...(name.endsWith('_bucket') ? ['le'] : [])]);
      for (const label of labels) assert.ok(known.has(label), `a rule matches ${name} on "${label}", a label it does not have (${[...known].join(', ')})`);
    }
    // The rules cover the metrics operations.md says to alert on.
    for (const family of ['genjobs_http_requests_total', 'genjobs_queue_oldest_pending_seconds', 'genjobs_queue_depth', 'genjobs_jobs_finished_total',
      'genjobs_webhook_oldest_undelivered_seconds', 'genjobs_webhook_failures_total', 'genjobs_nodejs_eventloop_lag_p99_seconds']) {
      assert.ok(used.has(family), `no rule reads ${family}`);
    }
  });

  it('comes with a scrape configuration that loads it and scrapes API processes and executors under the job its rules name', () => {
    const config = parse(fs.readFileSync(path.join(packageRoot, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      rule_files: string[]; scrape_configs: { job_name: string; metrics_path?: string; authorization?: { type?: string; credentials_file?: string }; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
    };
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const job = config.scrape_configs.find((c) => c.job_name === 'genjobs');
    assert.ok(job, 'a scrape job named genjobs, as up{job="genjobs"} in the rules expects');
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    assert.equal(job.authorization?.type, 'Bearer');
    assert.deepEqual(job.static_configs.map((s) => s.labels?.role).sort(), ['api', 'executor']);
    const rules = fs.readFileSync(RULES, 'utf8');
    assert.match(rules, /up\{job="genjobs"\}/);
  });
});
