import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Fleet } from '../../src/fleet/fleet.js';
import { OffsetSeries } from '../../src/fleet/series.js';
import { ALERT_COLOUR, escapeHtml } from '../../src/http/dashboard.js';
import { startMesh } from '../helpers/mesh.js';
import { until } from '../helpers/wait.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

/** A good check of `name` at second `second` (monotonic; wall from T0), 1 s interval, offset ± error. */
function recordCheck(fleet: Fleet, name: string, second: number, offsetNs: number, errorNs: number): void {
  fleet.record({
    nodeId: name,
    ip: '127.0.0.1',
    port: 1000,
    intervalNs: 1e9,
    peerResults: [],
    at: { wall: T0 + BigInt(second) * S, mono: BigInt(second) * S },
    samples: [],
    outcome: { ok: true, estimate: { offsetNs, errorNs, rttNs: 1e5, kept: 4, total: 5 } },
  });
}

describe('dashboard page (server-rendered, in process)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('a table row, a plot with the threshold and one series per node; names are escaped', async () => {
    const evil = '<img src=x onerror=alert(1)>&"';
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-3', clockOffset: '750ms' }, { name: evil }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    const master = mesh.master.master!;
    await until(
      'the vote naming web-3',
      () => master.mesh.isFalseticker('web-3') && master.fleet.get('web-3')!.alarm.over,
    );
    const res = await fetch(`${mesh.base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<meta http-equiv="refresh" content="\d+">/);
    assert.ok(!html.includes('<script'), 'no script on the page');
    assert.ok(!html.includes(evil), 'a node name reached the page unescaped');
    assert.ok(html.includes(escapeHtml(evil)));
    assert.equal(html.match(/<svg class="plot"/g)?.length, 3);
    assert.equal(html.match(/<tr data-node=/g)?.length, 4, 'three slaves and the master');
    assert.match(html, /<table class="matrix">/);
    assert.match(html, /<th class="falseticker" title="web-3">x web-3<\/th>/);
    const overview = /<svg id="overview"[\s\S]*?<\/svg>/.exec(html)![0];
    assert.equal(overview.match(/<g class="series"/g)?.length, 3);
    assert.equal(overview.match(/class="threshold"/g)?.length, 2, 'the overview always shows the threshold');
    assert.match(html, /<tbody>\n<tr data-node="web-3" data-state="falseticker">/, 'worst first');
    assert.match(html, /<tr data-node="web-3"[^>]*>[\s\S]*?<span class="badge falseticker">falseticker<\/span>/);
    assert.match(html, /<ul class="legend">(<li data-node="[^"]+">[\s\S]*?<\/li>){3}<\/ul>/);
    for (const colour of html.matchAll(/<polyline[^>]*stroke="([^"]+)"/g)) assert.notEqual(colour[1], ALERT_COLOUR);
  });
});

test('the series keeps at most the capacity and only the window', () => {
  const series = new OffsetSeries({ capacity: 5, windowNs: 10e9 });
  const t0 = 1_700_000_000n * S;
  for (let i = 0n; i < 8n; i++) series.add({ at: t0 + i * S, offsetNs: Number(i), errorNs: 1 });
  assert.deepEqual(
    series.points(0n).map((p) => p.offsetNs),
    [3, 4, 5, 6, 7],
  );
  series.add({ at: t0 + 30n * S, offsetNs: 30, errorNs: 1 });
  assert.deepEqual(
    series.points(0n).map((p) => p.offsetNs),
    [30],
  );
});

test('the series grows its ring as needed and wraps in order', () => {
  const series = new OffsetSeries({ capacity: 100, windowNs: 3600e9 });
  const t0 = 1_700_000_000n * S;
  for (let i = 0; i < 250; i++) series.add({ at: t0 + BigInt(i) * S, offsetNs: i * 1000, errorNs: 500 });
  const points = series.points(0n);
  assert.equal(points.length, 100);
  assert.deepEqual(
    points.map((p) => p.offsetNs),
    Array.from({ length: 100 }, (_, i) => (150 + i) * 1000),
  );
  assert.equal(points[0]!.at, t0 + 150n * S);
  assert.equal(series.points(t0 + 240n * S).length, 10);
});

test('a large fleet shows its worst nodes only, and says so', async () => {
  const { renderDashboard, MAX_SHOWN_NODES } = await import('../../src/http/dashboard.js');
  const { Fleet } = await import('../../src/fleet/fleet.js');
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 10e9 });
  const t0 = 1_700_000_000n * S;
  for (let i = 0; i < 100; i++) {
    fleet.record({
      nodeId: `n${i}`,
      ip: '127.0.0.1',
      port: 1000 + i,
      intervalNs: 0,
      peerResults: [],
      at: { wall: t0, mono: 0n },
      samples: [],
      outcome: { ok: true, estimate: { offsetNs: i * 1e6, errorNs: 1e3, rttNs: 1e5, kept: 4, total: 5 } },
    });
  }
  const html = renderDashboard({ nodes: fleet.all(), thresholdNs: 100e6, now: { wall: t0, mono: 0n } });
  assert.equal(html.match(/<tr data-node=/g)?.length, MAX_SHOWN_NODES);
  assert.match(html, /<tr data-node="n99"/, 'the node furthest off is shown');
  assert.doesNotMatch(html, /<tr data-node="n0"/);
  assert.match(html, /100 nodes \(the 24 furthest/);
});

test('a lost node is shown as lost, with its loss marked on its plot', async () => {
  const { renderDashboard } = await import('../../src/http/dashboard.js');
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 1e9 });
  for (let i = 0; i < 5; i++) {
    for (const name of ['up', 'gone']) if (name === 'up' || i <= 2) recordCheck(fleet, name, i, 20e3, 5e3);
  }
  fleet.sweep({ wall: T0 + 6n * S, mono: 6n * S });
  const html = renderDashboard({ nodes: fleet.all(), thresholdNs: 100e6, now: { wall: T0 + 6n * S, mono: 6n * S } });
  assert.match(html, /<tr data-node="gone" data-state="lost">[\s\S]*?<span class="badge lost">lost<\/span>/);
  assert.match(html, /<svg class="plot" data-node="gone"[\s\S]*?<g class="mark" data-kind="lost">/);
  assert.match(html, /1 lost/);
  assert.doesNotMatch(/<tr data-node="gone"[\s\S]*?<\/tr>/.exec(html)![0], /badge ok/);
});

test('a node that drifts, recovers, is lost and comes back has each marked on its plot, in order, with its symbol', async () => {
  const { renderDashboard } = await import('../../src/http/dashboard.js');
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 1e9 });
  for (let i = 0; i < 3; i++) recordCheck(fleet, 'web-3', i, 20e3, 5e3);
  recordCheck(fleet, 'web-3', 3, 500e6, 5e3); // over the threshold
  recordCheck(fleet, 'web-3', 4, 20e3, 5e3); // back under it
  fleet.sweep({ wall: T0 + 8n * S, mono: 8n * S }); // silent for 3 intervals: lost
  recordCheck(fleet, 'web-3', 9, 20e3, 5e3); // checks again
  const now = { wall: T0 + 10n * S, mono: 10n * S };
  const html = renderDashboard({ nodes: fleet.all(), thresholdNs: 100e6, now });
  const plot = /<svg class="plot" data-node="web-3"[\s\S]*?<\/svg>/.exec(html)![0];
  const marks = [
    ...plot.matchAll(
      /<g class="mark" data-kind="([a-z]+)"><title>([a-z]+) at ([\d:]+)Z<\/title>[\s\S]*?>(.)<\/text><\/g>/g,
    ),
  ];
  assert.deepEqual(
    marks.map((m) => [m[1], m[2], m[4]]),
    [
      ['drift', 'drift', '▲'],
      ['recovered', 'recovered', '▼'],
      ['lost', 'lost', '✕'],
      ['back', 'back', '●'],
    ],
  );
  const clock = (second: bigint) => new Date(Number((T0 + second * S) / 1_000_000n)).toISOString().slice(11, 19);
  assert.deepEqual(
    marks.map((m) => m[3]),
    [clock(3n), clock(4n), clock(8n), clock(9n)],
  );
  assert.match(html, /<p class="marks">Marks: [\s\S]*▼[\s\S]*●/, 'the legend explains the symbols');
});

test('a node drifting fast shows its frequency, and the drift-rate alarm beside its state', async () => {
  const { renderDashboard } = await import('../../src/http/dashboard.js');
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 1e9 });
  for (let i = 0; i < 4; i++) {
    recordCheck(fleet, 'steady', i, 0, 1e3);
    recordCheck(fleet, 'fast', i, 1e6 * i, 1e3); // 1,000 ppm
  }
  const html = renderDashboard({ nodes: fleet.all(), thresholdNs: 100e6, now: { wall: T0 + 4n * S, mono: 4n * S } });
  const row = (name: string) => new RegExp(`<tr data-node="${name}"[\\s\\S]*?</tr>`).exec(html)![0];
  assert.match(row('fast'), /<span class="badge ok">ok<\/span> <span class="alarm drift_rate">drifts too fast<\/span>/);
  // ± the slopes the ±1 µs checks allow over 3 s, plus the 5 ppm the model lets a rate wander.
  assert.match(row('fast'), /<td class="num">\+1000\.000<\/td><td class="num">±5\.667<\/td>/);
  assert.doesNotMatch(row('steady'), /drift_rate/);
  assert.match(html, /1 drifting too fast/);
  assert.match(html, /<h3>[\s\S]*?fast <small>127\.0\.0\.1:1000 · ok · \+1,000 ppm ± 5\.67 ppm<\/small>/);
});
