/**
 * The shipped Prometheus rules and Grafana dashboard: promtool accepts the rules and their unit
 * tests pass (where Debian's `prometheus` package provides promtool), and every metric they use is
 * one a running master exports (or a recording rule the file defines), so a rename cannot leave
 * them reading nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMesh } from '../helpers/mesh.js';
import { parsePrometheusText } from '../helpers/prom-text.js';
import { hasCommand } from '../helpers/system.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const RULES = `${DEPLOY}prometheus/saturn-rules.yml`;
const RULES_TEST = `${DEPLOY}prometheus/saturn-rules.test.yml`;
const GRAFANA = `${DEPLOY}grafana/saturn.json`;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

test('promtool checks the rules and runs their unit tests', (t) => {
  if (!hasCommand('promtool')) {
    t.skip('promtool not installed (Debian package prometheus); CI installs it');
    return;
  }
  const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const unit = spawnSync('promtool', ['test', 'rules', RULES_TEST], { encoding: 'utf8', cwd: `${DEPLOY}prometheus` });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
});

/** Metric names in PromQL expressions: identifiers followed by `{`, `[`, `)` or whitespace, minus functions and keywords. */
function metricNames(expr: string): string[] {
  const words = expr.replace(/"[^"]*"/g, '""').match(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[{[)\s]|$)/g) ?? [];
  const notMetrics = new Set([
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'bool',
    'and',
    'or',
    'unless',
    'offset',
    'le',
    'node',
    'instance',
    'state',
    'quantile',
    'job',
    'stage',
    'kind',
    'reason',
    'target',
  ]);
  return words.filter(
    (w) =>
      !notMetrics.has(w) &&
      !/^(sum|max|min|avg|count|topk|bottomk|abs|rate|increase|histogram_quantile|label_values|first|value|query|humanize\w*|printf)$/.test(
        w,
      ),
  );
}

test('every metric the rules and the Grafana dashboard read is exported by a master or recorded by the rules', async () => {
  const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-3', clockOffset: '750ms' }], {
    webhookUrl: 'http://127.0.0.1:9/hook',
  });
  cleanups.push(mesh.close);
  await mesh.checked(2);
  const exported = new Set<string>();
  for (const family of parsePrometheusText(await (await fetch(`${mesh.base}/metrics`)).text()).values()) {
    exported.add(family.name);
    for (const sample of family.samples) exported.add(sample.name);
  }
  const rules = readFileSync(RULES, 'utf8');
  const recorded = new Set([...rules.matchAll(/^\s*- record: (\S+)/gm)].map((m) => m[1]!));
  const exprs = [...rules.matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!);
  const dashboard = JSON.parse(readFileSync(GRAFANA, 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { query: { query: string } }[] };
  };
  assert.ok(dashboard.panels.length >= 10);
  for (const panel of dashboard.panels) for (const target of panel.targets) exprs.push(target.expr);
  for (const variable of dashboard.templating.list) exprs.push(variable.query.query);
  const unknown = new Set<string>();
  for (const expr of exprs) {
    for (const name of metricNames(expr))
      if (!exported.has(name) && !recorded.has(name) && name !== 'up') unknown.add(name);
  }
  assert.deepEqual([...unknown], [], 'metrics used but not exported');
  // Panels do not overlap: each has its own place on the grid.
  const cells = new Set<string>();
  for (const panel of dashboard.panels as unknown as { gridPos: { x: number; y: number; w: number; h: number } }[]) {
    for (let x = panel.gridPos.x; x < panel.gridPos.x + panel.gridPos.w; x++) {
      for (let y = panel.gridPos.y; y < panel.gridPos.y + panel.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `panels overlap at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
});
