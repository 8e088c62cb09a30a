/**
 * The dashboard page at `/`: a table of nodes and, per node, an SVG plot of offset ± error bound
 * over the last hour with the threshold drawn, plus one overview plot with a series per node.
 * Server-rendered HTML and SVG, no script; the page reloads itself. Pure: `now` comes in.
 */
import { type Instant, type Nanos, isoNanos } from '../clock/clock.js';
import type { NodeState } from '../fleet/fleet.js';
import type { SeriesPoint } from '../fleet/series.js';
import { formatHostPort } from '../util/parse.js';

export interface DashboardInput {
  nodes: readonly NodeState[];
  thresholdNs: number;
  /** Now: wall time for the plots' axis, monotonic time for ages. */
  now: Instant;
  /** Seconds between reloads. Default 5. */
  refreshSeconds?: number;
  /** The plotted window, ns. Default 1 h. */
  windowNs?: number;
  /** The master's own clock against Roughtime; absent when no Roughtime server is configured. */
  reference?: ReferenceView;
}

/** What the dashboard shows of the master's reference state (offset = master clock − Roughtime MIDP). */
export interface ReferenceView {
  readonly state: 'unknown' | 'ok' | 'wrong';
  readonly server: string | undefined;
  readonly offsetNs: number | undefined;
  readonly errorNs: number | undefined;
}

/** One line on the master's reference clock: its state, and the answer that decided it. */
function referenceLine(reference: ReferenceView | undefined): string {
  if (reference === undefined) return '';
  const cls = reference.state === 'wrong' ? 'over' : reference.state === 'ok' ? 'ok' : '';
  const detail =
    reference.offsetNs === undefined || reference.errorNs === undefined
      ? ''
      : ` (${escapeHtml(reference.server ?? '')}: ${signed(ms(reference.offsetNs))} ± ${fixed(ms(reference.errorNs))} ms)`;
  return `<p id="reference">master clock against Roughtime: <span class="${cls}">${reference.state}</span>${detail}</p>`;
}

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];
const W = 640;
const H = 170;
const M = { left: 64, right: 12, top: 10, bottom: 22 };

/** HTML-escapes text (node names come from the network). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const ms = (ns: number) => ns / 1e6;
const fixed = (x: number, digits = 3) => x.toFixed(digits);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${fixed(x)}`;

/** What every plot is drawn with: the wall instant at its right edge, its span, the threshold. */
interface PlotInput {
  now: Nanos;
  windowNs: number;
  thresholdNs: number;
}

/** Scales of one plot: time on x, milliseconds on y. */
interface Frame {
  x(at: Nanos): number;
  y(milliseconds: number): number;
  loMs: number;
  hiMs: number;
}

function frame(now: Nanos, windowNs: number, loMs: number, hiMs: number): Frame {
  const start = now - BigInt(windowNs);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  return {
    x: (at) => M.left + (Number(at - start) / windowNs) * plotW,
    y: (v) => M.top + (1 - (v - loMs) / (hiMs - loMs)) * plotH,
    loMs,
    hiMs,
  };
}

/** The y range: the data's extent and ±threshold, padded by a tenth. */
function range(pointsList: SeriesPoint[][], thresholdMs: number, band: boolean): [number, number] {
  let lo = -thresholdMs;
  let hi = thresholdMs;
  for (const points of pointsList) {
    for (const p of points) {
      const e = band ? ms(p.errorNs) : 0;
      lo = Math.min(lo, ms(p.offsetNs) - e);
      hi = Math.max(hi, ms(p.offsetNs) + e);
    }
  }
  if (hi - lo < 1e-6) hi = lo + 1;
  const pad = (hi - lo) / 10;
  return [lo - pad, hi + pad];
}

const pt = (x: number, y: number) => `${fixed(x, 1)},${fixed(y, 1)}`;

/** Axes, zero line, threshold lines and tick labels of one plot. */
function axes(f: Frame, thresholdMs: number, windowNs: number): string {
  const x0 = M.left;
  const x1 = W - M.right;
  let out = `<rect x="${x0}" y="${M.top}" width="${x1 - x0}" height="${H - M.top - M.bottom}" fill="#fff" stroke="#ccc"/>`;
  out += `<line class="zero" x1="${x0}" x2="${x1}" y1="${fixed(f.y(0), 1)}" y2="${fixed(f.y(0), 1)}" stroke="#999" stroke-width="0.5"/>`;
  for (const t of [thresholdMs, -thresholdMs]) {
    out += `<line class="threshold" x1="${x0}" x2="${x1}" y1="${fixed(f.y(t), 1)}" y2="${fixed(f.y(t), 1)}" stroke="#c00" stroke-dasharray="5,4"/>`;
  }
  out += `<text x="${x1 - 2}" y="${fixed(f.y(thresholdMs) - 3, 1)}" text-anchor="end" fill="#c00" font-size="10">threshold ±${fixed(thresholdMs, 1)} ms</text>`;
  out += `<text x="${x0 - 4}" y="${M.top + 9}" text-anchor="end" font-size="10">${fixed(f.hiMs, 1)} ms</text>`;
  out += `<text x="${x0 - 4}" y="${H - M.bottom}" text-anchor="end" font-size="10">${fixed(f.loMs, 1)} ms</text>`;
  for (const frac of [0, 0.5, 1]) {
    const x = x0 + frac * (x1 - x0);
    const label = frac === 1 ? 'now' : `−${spanText(windowNs * (1 - frac))}`;
    out += `<text x="${fixed(x, 1)}" y="${H - 6}" text-anchor="${frac === 0 ? 'start' : frac === 1 ? 'end' : 'middle'}" font-size="10">${label}</text>`;
  }
  return out;
}

/** One node's plot: the error band, the offset line, the threshold. */
function nodePlot(node: NodeState, points: SeriesPoint[], color: string, input: PlotInput): string {
  const thresholdMs = ms(input.thresholdNs);
  const [lo, hi] = range([points], thresholdMs, true);
  const f = frame(input.now, input.windowNs, lo, hi);
  const upper = points.map((p) => pt(f.x(p.at), f.y(ms(p.offsetNs + p.errorNs))));
  const lower = points.map((p) => pt(f.x(p.at), f.y(ms(p.offsetNs - p.errorNs)))).reverse();
  const line = points.map((p) => pt(f.x(p.at), f.y(ms(p.offsetNs)))).join(' ');
  const id = escapeHtml(node.id);
  return (
    `<svg class="plot" data-node="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="offset of ${id} over the last hour">` +
    axes(f, thresholdMs, input.windowNs) +
    `<g class="series" data-node="${id}" data-points="${points.length}">` +
    `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.2" stroke="none"/>` +
    `<polyline class="offset" points="${line}" fill="none" stroke="${color}" stroke-width="1.5"/>` +
    (points.length === 1
      ? `<circle cx="${fixed(f.x(points[0]!.at), 1)}" cy="${fixed(f.y(ms(points[0]!.offsetNs)), 1)}" r="2.5" fill="${color}"/>`
      : '') +
    `</g></svg>`
  );
}

/** All nodes' offsets in one plot, one series each. */
function overviewPlot(nodes: readonly NodeState[], pointsOf: SeriesPoint[][], input: PlotInput): string {
  const thresholdMs = ms(input.thresholdNs);
  const [lo, hi] = range(pointsOf, thresholdMs, false);
  const f = frame(input.now, input.windowNs, lo, hi);
  let series = '';
  nodes.forEach((node, i) => {
    const line = pointsOf[i]!.map((p) => pt(f.x(p.at), f.y(ms(p.offsetNs)))).join(' ');
    series += `<g class="series" data-node="${escapeHtml(node.id)}" data-points="${pointsOf[i]!.length}"><polyline points="${line}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"/></g>`;
  });
  return `<svg id="overview" class="overview" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="offset of every node over the last hour">${axes(f, thresholdMs, input.windowNs)}${series}</svg>`;
}

/** A span for an axis label: seconds below two minutes, else minutes. */
function spanText(ns: number): string {
  return ns < 120e9 ? `${Math.round(ns / 1e9)} s` : `${Math.round(ns / 60e9)} min`;
}

/** The plotted span: the window, shrunk to the data while there is less than that (at least 10 s). */
function plottedSpan(pointsOf: SeriesPoint[][], now: Nanos, windowNs: number): number {
  let oldest = now;
  for (const points of pointsOf) if (points[0] && points[0].at < oldest) oldest = points[0].at;
  return Math.min(windowNs, Math.max(10e9, Number(now - oldest)));
}

function ago(nowMono: Nanos, atMono: Nanos): string {
  const s = Number(nowMono - atMono) / 1e9;
  return s < 120 ? `${Math.max(0, Math.round(s))} s ago` : `${Math.round(s / 60)} min ago`;
}

/** Nodes shown when the fleet is larger: a page with 10,000 plots helps no one (and costs MBs per reload). */
export const MAX_SHOWN_NODES = 24;

/** How far a node is from trouble: over threshold first, then by |offset| − error (its proven distance from 0). */
function badness(node: NodeState): number {
  const c = node.current;
  if (!c) return -Infinity;
  return (node.alarm.over ? 1e18 : 0) + Math.abs(c.offsetNs) - c.errorNs;
}

/** The whole page. Fleets over MAX_SHOWN_NODES show their worst nodes; /status has them all. */
export function renderDashboard(input: DashboardInput): string {
  const { thresholdNs, now, refreshSeconds = 5, windowNs = 3600e9 } = input;
  const fleetSize = input.nodes.length;
  const nodes =
    fleetSize <= MAX_SHOWN_NODES
      ? input.nodes
      : [...input.nodes].sort((a, b) => badness(b) - badness(a)).slice(0, MAX_SHOWN_NODES);
  const hidden = fleetSize - nodes.length;
  const since = now.wall - BigInt(windowNs);
  const pointsOf = nodes.map((n) => n.series.points(since));
  const spanNs = plottedSpan(pointsOf, now.wall, windowNs);
  const frameInput = { now: now.wall, windowNs: spanNs, thresholdNs };
  const rows = nodes
    .map((n, i) => {
      const c = n.current;
      const state = n.alarm.over
        ? '<td class="over">over threshold</td>'
        : c
          ? '<td class="ok">ok</td>'
          : '<td>no check yet</td>';
      return (
        `<tr data-node="${escapeHtml(n.id)}"><td><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span>${escapeHtml(n.id)}</td>` +
        `<td>${escapeHtml(formatHostPort({ host: n.ip, port: n.port }))}</td>` +
        `<td class="num">${c ? signed(ms(c.offsetNs)) : '–'}</td><td class="num">${c ? `±${fixed(ms(c.errorNs))}` : '–'}</td>` +
        `<td class="num">${c ? fixed(ms(c.rttNs)) : '–'}</td><td class="num">${n.checks}</td><td class="num">${n.discarded}</td>` +
        `<td>${ago(now.mono, n.lastSeenMono)}</td>${state}</tr>`
      );
    })
    .join('\n');
  const plots = nodes
    .map(
      (n, i) =>
        `<section class="node"><h3>${escapeHtml(n.id)} <small>${escapeHtml(formatHostPort({ host: n.ip, port: n.port }))}</small></h3>${nodePlot(n, pointsOf[i]!, COLORS[i % COLORS.length]!, frameInput)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>saturn: ${fleetSize} node${fleetSize === 1 ? '' : 's'}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.over{color:#c00;font-weight:bold}.ok{color:#070}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}
section.node{display:inline-block;margin:0 1em 1em 0;vertical-align:top}h3{margin:.2em 0;font-size:1em}small{color:#777;font-weight:normal}
svg text{font-family:system-ui,sans-serif;fill:#555}
</style></head>
<body>
<h1>saturn</h1>
<p>${fleetSize} node${fleetSize === 1 ? '' : 's'}${hidden > 0 ? ` (the ${nodes.length} furthest from the master's time shown; all in <a href="/status">/status</a> and <code>saturn status</code>)` : ''} · threshold ${fixed(ms(thresholdNs), 1)} ms · offset = node clock − master clock · as of ${isoNanos(now.wall).slice(0, 19)}Z (master clock) · reloads every ${refreshSeconds} s · <a href="/status">/status</a> · <a href="/metrics">/metrics</a></p>
${referenceLine(input.reference)}
<table><thead><tr><th>node</th><th>address</th><th>offset ms</th><th>error ms</th><th>rtt ms</th><th>checks</th><th>discarded</th><th>last seen</th><th>state</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>All nodes, last ${spanText(spanNs)}</h2>
${overviewPlot(nodes, pointsOf, frameInput)}
<h2>Each node: offset ± error bound</h2>
${plots}
</body></html>
`;
}
