/**
 * The dashboard page at `/`, read by an operator in a second:
 *
 * - a summary (how many nodes in each state, the threshold, the master's own clock against its
 *   Roughtime reference) and a table of the nodes, worst first, with the same states as /status,
 *   their frequencies and who drifts too fast;
 * - one plot of every node's offset on a symmetric-log axis, so 20 µs and 750 ms are both readable,
 *   with a legend, round ticks, zero and gridlines, and the threshold;
 * - per node, a plot of offset ± error bound on its own axis (the band is visible at tens of µs),
 *   with drift, recovery, loss and return marked;
 * - with the mesh on, the master's own row in the table and who agrees with whom (mesh-matrix.ts).
 *
 * Server-rendered HTML and SVG, no script; the page reloads itself. Pure: `now` comes in.
 */
import { type Instant, type Nanos, isoNanos } from '../clock/clock.js';
import { ppmText } from '../fleet/drift-rate.js';
import { type NodeMark, type NodeState, stateOf } from '../fleet/fleet.js';
import { DEFAULT_SERIES_WINDOW_NS, type SeriesPoint } from '../fleet/series.js';
import { type Scale, linearScale, offsetLabel, symlogScale, timeTicks } from './scales.js';
import type { PeerEdge } from '../mesh/consensus.js';
import { escapeHtml } from './html.js';
import { MESH_STYLE, meshSection } from './mesh-matrix.js';
import { type MeshInput, type NodeStatus, masterStatus, nodeStatus, worstFirst } from './status.js';

export { escapeHtml };

/** The master's own clock against its Roughtime servers, as the page shows it. */
export interface ReferenceView {
  /** `ok`, `wrong`, `unknown` (no answer yet)... */
  readonly state: string;
  readonly detail: string;
}

export interface DashboardInput {
  nodes: readonly NodeState[];
  thresholdNs: number;
  /** Now: wall time for the plots' axis, monotonic time for ages. */
  now: Instant;
  /** The master's reference check; undefined when no Roughtime server is configured. */
  reference?: ReferenceView;
  /** The mesh (--peers > 0): the vote, the master's own entry, the tolerance and the fresh peer edges. */
  mesh?: MeshInput & { toleranceNs: number; edges: readonly PeerEdge[] };
  /** Seconds between reloads. Default 5. */
  refreshSeconds?: number;
  /** The plotted window, ns. Default 1 h. */
  windowNs?: number;
}

/** Node colours: D3's category10 without its red, which is the threshold's and the alerts' colour. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#9467bd',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#393b79',
];
/** The alert colour: threshold lines, over-threshold state, drift marks. Never a node's colour. */
export const ALERT_COLOUR = '#c00000';
const MARK_COLOURS: Record<NodeMark['kind'], string> = {
  drift: ALERT_COLOUR,
  recovered: '#2a8a2a',
  lost: '#666666',
  back: '#1f5fbf',
};
const MARK_SYMBOLS: Record<NodeMark['kind'], string> = { drift: '▲', recovered: '▼', lost: '✕', back: '●' };

/** Nodes shown when the fleet is larger: a page with 10,000 plots helps no one (and costs MBs per reload). */
export const MAX_SHOWN_NODES = 24;

/** Below this the symmetric-log axis is linear: offsets under 10 µs are noise on any real network. */
const SYMLOG_LINEAR_NS = 10_000;

const fixed = (x: number, digits = 3) => x.toFixed(digits);
const px = (x: number) => x.toFixed(1);

/** The box of one plot inside its SVG. */
interface Box {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

const OVERVIEW: Box = { width: 1300, height: 330, left: 80, right: 110, top: 12, bottom: 26 };
const NODE_PLOT: Box = { width: 640, height: 200, left: 80, right: 12, top: 18, bottom: 26 };

/** Scales of one plot: wall instants on x, offsets (ns) on y. */
interface Frame {
  readonly box: Box;
  x(at: Nanos): number;
  y(offsetNs: number): number;
  readonly scale: Scale;
  readonly spanNs: number;
  readonly now: Nanos;
}

function frameOf(box: Box, now: Nanos, spanNs: number, scale: Scale): Frame {
  const start = now - BigInt(Math.round(spanNs));
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  return {
    box,
    scale,
    spanNs,
    now,
    x: (at) => box.left + (Number(at - start) / spanNs) * plotW,
    y: (v) => box.top + (1 - scale.position(v)) * plotH,
  };
}

/** Frame, gridlines, tick labels on both axes and, where in range, the threshold lines. */
function axes(f: Frame, thresholdNs: number): string {
  const { box } = f;
  const x0 = box.left;
  const x1 = box.width - box.right;
  const y0 = box.top;
  const y1 = box.height - box.bottom;
  let out = `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="#fff" stroke="#bbb"/>`;
  // Labels closer than a line of text to one already written are left out (zero first); gridlines stay.
  const labelled: number[] = [];
  const byPriority = [...f.scale.ticks].sort((a, b) => Math.abs(a) - Math.abs(b));
  for (const tick of byPriority) {
    const y = f.y(tick);
    out += `<line class="${tick === 0 ? 'zero' : 'grid'}" x1="${x0}" x2="${x1}" y1="${px(y)}" y2="${px(y)}" stroke="${tick === 0 ? '#888' : '#e6e6e6'}" stroke-width="${tick === 0 ? 1 : 0.8}"/>`;
    if (labelled.some((other) => Math.abs(other - y) < 12)) continue;
    labelled.push(y);
    out += `<text class="ytick" x="${x0 - 6}" y="${px(y + 3.5)}" text-anchor="end">${offsetLabel(tick, f.scale.step)}</text>`;
  }
  for (const tick of timeTicks(f.spanNs)) {
    const x = px(f.x(f.now - BigInt(Math.round(tick.beforeNowNs))));
    out += `<line class="grid" x1="${x}" x2="${x}" y1="${y0}" y2="${y1}" stroke="#f0f0f0"/>`;
    out += `<text class="xtick" x="${x}" y="${box.height - 8}" text-anchor="middle">${tick.label}</text>`;
  }
  for (const sign of [1, -1]) {
    const t = sign * thresholdNs;
    if (t < f.scale.lo || t > f.scale.hi) continue;
    const y = px(f.y(t));
    out += `<line class="threshold" x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="${ALERT_COLOUR}" stroke-dasharray="6,4"/>`;
    // In the right margin when there is one, so the label never covers a series.
    if (box.right >= 60) {
      out += `<text class="threshold-label" x="${x1 + 6}" y="${px(f.y(t) + 3.5)}" fill="${ALERT_COLOUR}">${sign > 0 ? '+' : '−'}threshold</text>`;
    }
  }
  return out;
}

/** The span plotted: the window, shrunk to the data while there is less than that (at least 10 s). */
function plottedSpan(pointsOf: readonly SeriesPoint[][], now: Nanos, windowNs: number): number {
  let oldest = now;
  for (const points of pointsOf) if (points[0] && points[0].at < oldest) oldest = points[0].at;
  return Math.min(windowNs, Math.max(10e9, Number(now - oldest)));
}

const polyline = (f: Frame, points: readonly SeriesPoint[]) =>
  points.map((p) => `${px(f.x(p.at))},${px(f.y(p.offsetNs))}`).join(' ');

/** Every shown node's offset on one symmetric-log axis, with the threshold. */
function overviewPlot(shown: readonly Shown[], input: PlotInput): string {
  let lo = -input.thresholdNs;
  let hi = input.thresholdNs;
  for (const { points } of shown)
    for (const p of points) ((lo = Math.min(lo, p.offsetNs)), (hi = Math.max(hi, p.offsetNs)));
  const f = frameOf(OVERVIEW, input.now, input.spanNs, symlogScale(lo, hi, SYMLOG_LINEAR_NS));
  let series = '';
  for (const { node, colour, points } of shown) {
    const id = escapeHtml(node.id);
    series += `<g class="series" data-node="${id}" data-points="${points.length}"><title>${id}</title>`;
    series += `<polyline points="${polyline(f, points)}" fill="none" stroke="${colour}" stroke-width="1.6"/>`;
    const last = points.at(-1);
    if (last) series += `<circle cx="${px(f.x(last.at))}" cy="${px(f.y(last.offsetNs))}" r="2.5" fill="${colour}"/>`;
    series += '</g>';
  }
  return (
    `<svg id="overview" class="overview" viewBox="0 0 ${OVERVIEW.width} ${OVERVIEW.height}" width="${OVERVIEW.width}" height="${OVERVIEW.height}" role="img" aria-label="offset of every node">` +
    `${axes(f, input.thresholdNs)}${series}</svg>`
  );
}

/** One node's offset ± error bound on its own axis, with its marks. */
function nodePlot(item: Shown, input: PlotInput): string {
  const { node, colour, points } = item;
  const marks = node.marks.filter((m) => m.at >= input.now - BigInt(Math.round(input.spanNs)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) ((lo = Math.min(lo, p.offsetNs - p.errorNs)), (hi = Math.max(hi, p.offsetNs + p.errorNs)));
  if (!Number.isFinite(lo)) ((lo = -input.thresholdNs), (hi = input.thresholdNs));
  // Zero and the threshold join the axis when that does not squash the data.
  const span = Math.max(hi - lo, 1);
  if (lo > 0 && lo < 3 * span) lo = 0;
  if (hi < 0 && -hi < 3 * span) hi = 0;
  for (const t of [input.thresholdNs, -input.thresholdNs]) {
    if (t > hi && t - hi < span) hi = t;
    if (t < lo && lo - t < span) lo = t;
  }
  const f = frameOf(NODE_PLOT, input.now, input.spanNs, linearScale(lo, hi, 4));
  const upper = points.map((p) => `${px(f.x(p.at))},${px(f.y(p.offsetNs + p.errorNs))}`);
  const lower = points.map((p) => `${px(f.x(p.at))},${px(f.y(p.offsetNs - p.errorNs))}`).reverse();
  const id = escapeHtml(node.id);
  let markSvg = '';
  for (const m of marks) {
    const x = px(f.x(m.at));
    markSvg +=
      `<g class="mark" data-kind="${m.kind}"><title>${m.kind} at ${isoNanos(m.at).slice(11, 19)}Z</title>` +
      `<line x1="${x}" x2="${x}" y1="${NODE_PLOT.top}" y2="${NODE_PLOT.height - NODE_PLOT.bottom}" stroke="${MARK_COLOURS[m.kind]}" stroke-width="1" stroke-dasharray="2,2"/>` +
      `<text x="${x}" y="${NODE_PLOT.top - 5}" text-anchor="middle" fill="${MARK_COLOURS[m.kind]}">${MARK_SYMBOLS[m.kind]}</text></g>`;
  }
  const offScale = input.thresholdNs > f.scale.hi && -input.thresholdNs < f.scale.lo;
  const note = offScale
    ? `<text class="note" x="${NODE_PLOT.width - NODE_PLOT.right - 4}" y="${NODE_PLOT.top + 12}" text-anchor="end">threshold ±${offsetLabel(input.thresholdNs).slice(1)} is off this scale</text>`
    : '';
  return (
    `<svg class="plot" data-node="${id}" viewBox="0 0 ${NODE_PLOT.width} ${NODE_PLOT.height}" width="${NODE_PLOT.width}" height="${NODE_PLOT.height}" role="img" aria-label="offset of ${id} with its error bound">` +
    axes(f, input.thresholdNs) +
    `<g class="series" data-node="${id}" data-points="${points.length}">` +
    `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${colour}" fill-opacity="0.25" stroke="${colour}" stroke-opacity="0.35" stroke-width="0.6"/>` +
    `<polyline class="offset" points="${polyline(f, points)}" fill="none" stroke="${colour}" stroke-width="1.6"/>` +
    (points.length === 1
      ? `<circle cx="${px(f.x(points[0]!.at))}" cy="${px(f.y(points[0]!.offsetNs))}" r="2.5" fill="${colour}"/>`
      : '') +
    `</g>${markSvg}${note}</svg>`
  );
}

interface PlotInput {
  now: Nanos;
  spanNs: number;
  thresholdNs: number;
}

/** A node on the page: its status, colour and plotted points. */
interface Shown {
  node: NodeState;
  status: NodeStatus;
  colour: string;
  points: SeriesPoint[];
}

function stateCell(status: NodeStatus): string {
  const label = status.state.replace('_', ' ');
  const drifting = status.driftRateAlarm ? ' <span class="alarm drift_rate">drifts too fast</span>' : '';
  return `<td class="state"><span class="badge ${status.state}">${label}</span>${drifting}</td>`;
}

/** "+1,000 ppm ± 2 ppm", or nothing while the frequency is unknown. */
function frequencyText(status: NodeStatus): string {
  if (status.frequencyPpm === null || status.frequencyErrorPpm === null) return '';
  return `${ppmText(status.frequencyPpm)} ± ${ppmText(status.frequencyErrorPpm).replace(/^[+−]/, '')}`;
}

function agoText(seconds: number): string {
  return seconds < 120
    ? `${Math.round(seconds)} s ago`
    : seconds < 7200
      ? `${Math.round(seconds / 60)} min ago`
      : `${Math.round(seconds / 3600)} h ago`;
}

const signedFixed = (v: number) => `${v >= 0 ? '+' : ''}${fixed(v * 1e3)}`;

/** A table row; `mesh` adds the node's offset from the agreed time. */
function row(item: Pick<Shown, 'status' | 'colour'>, mesh: boolean): string {
  const { status: s, colour } = item;
  const num = (v: number | null, f: (x: number) => string) => `<td class="num">${v === null ? '–' : f(v)}</td>`;
  return (
    `<tr data-node="${escapeHtml(s.id)}" data-state="${s.state}"><td><span class="swatch" style="background:${colour}"></span>${escapeHtml(s.id)}</td>` +
    `<td>${escapeHtml(s.addr)}</td>${stateCell(s)}` +
    num(s.offsetSeconds, signedFixed) +
    num(s.errorSeconds, (v) => `±${fixed(v * 1e3)}`) +
    (mesh ? num(s.consensusOffsetSeconds, signedFixed) : '') +
    num(s.frequencyPpm, (v) => `${v >= 0 ? '+' : ''}${fixed(v)}`) +
    num(s.frequencyErrorPpm, (v) => `±${fixed(v)}`) +
    num(s.rttSeconds, (v) => fixed(v * 1e3)) +
    `<td class="num">${s.intervalSeconds} s</td><td class="num">${s.checks}</td><td class="num">${s.discarded}</td>` +
    `<td>${agoText(s.lastSeenSecondsAgo)}</td></tr>`
  );
}

function summary(statuses: readonly NodeStatus[], input: DashboardInput): string {
  const count = (state: NodeStatus['state']) => statuses.filter((s) => s.state === state).length;
  const drifting = statuses.filter((s) => s.driftRateAlarm).length;
  const chips =
    (['falseticker', 'over_threshold', 'lost', 'pending', 'ok'] as const)
      .map((state) => `<span class="badge ${state}">${count(state)} ${state.replace('_', ' ')}</span>`)
      .join(' ') + (drifting > 0 ? ` <span class="alarm drift_rate">${drifting} drifting too fast</span>` : '');
  const reference = input.reference
    ? `<span class="reference ${escapeHtml(input.reference.state)}">master clock vs Roughtime: <b>${escapeHtml(input.reference.state)}</b> <small>${escapeHtml(input.reference.detail)}</small></span>`
    : `<span class="reference none">master clock vs Roughtime: <b>not checked</b> <small>(no --roughtime-server)</small></span>`;
  return `<p class="summary">${chips}</p><p>${reference}</p>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05em .5em;border-radius:.7em;font-size:.9em;border:1px solid}
.badge.ok{color:#1d6b1d;border-color:#9c9;background:#eef8ee}
.badge.over_threshold{color:#fff;border-color:${ALERT_COLOUR};background:${ALERT_COLOUR};font-weight:bold}
.badge.lost{color:#444;border-color:#999;background:#e4e4e4}
.badge.falseticker{color:${ALERT_COLOUR};border-color:${ALERT_COLOUR};background:#fff0f0;font-weight:bold}
.badge.pending{color:#35557a;border-color:#9ab;background:#eef3f8}
.alarm.drift_rate{color:${ALERT_COLOUR};font-weight:bold;font-size:.9em}
.reference b{text-transform:uppercase}.reference.wrong b{color:${ALERT_COLOUR}}.reference.ok b{color:#1d6b1d}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}
ul.legend{list-style:none;padding:0;margin:.3em 0 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em}
section.node{display:inline-block;margin:0 1em 1em 0;vertical-align:top}h3{margin:.2em 0;font-size:1em}small{color:#777;font-weight:normal}
svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#555}svg text.threshold-label{font-size:11px}
svg text.note{fill:#999;font-style:italic}
p.marks{color:#666;font-size:.9em}
`;

function meshMatrixInput(input: DashboardInput, mesh: NonNullable<DashboardInput['mesh']>) {
  const direct = new Map(
    input.nodes
      .filter((n) => n.current !== undefined && !n.lost)
      .map((n) => [n.id, { offsetNs: n.current!.offsetNs, errorNs: n.current!.errorNs }]),
  );
  return {
    masterId: mesh.master.id,
    toleranceNs: mesh.toleranceNs,
    consensus: mesh.consensus,
    named: mesh.named,
    direct,
    edges: mesh.edges,
  };
}

/** The whole page. Fleets over MAX_SHOWN_NODES show their worst nodes; /status has them all. */
export function renderDashboard(input: DashboardInput): string {
  const { thresholdNs, now, refreshSeconds = 5, windowNs = DEFAULT_SERIES_WINDOW_NS } = input;
  const colourOf = new Map(input.nodes.map((n, i) => [n.id, PALETTE[i % PALETTE.length]!]));
  const all = input.nodes.map((node) => ({ node, status: nodeStatus(node, now, input.mesh?.masterFrequency) }));
  all.sort((a, b) => worstFirst(a.status, b.status));
  const since = now.wall - BigInt(windowNs);
  const shown: Shown[] = all.slice(0, MAX_SHOWN_NODES).map(({ node, status }) => ({
    node,
    status,
    colour: colourOf.get(node.id)!,
    points: node.series.points(since),
  }));
  const hidden = all.length - shown.length;
  // With the mesh on the master is a node too: a row of its own (its offset from itself is 0; the
  // mesh may still name it), first among equals; no plot.
  const master = input.mesh ? masterStatus(input.mesh.master, input.mesh.masterFrequency) : undefined;
  const statuses = [...(master ? [master] : []), ...all.map((a) => a.status)].sort(worstFirst);
  const tableRows = statuses
    .filter((s) => s === master || shown.some((x) => x.status === s))
    .map((s) =>
      row(s === master ? { status: s, colour: '#222' } : shown.find((x) => x.status === s)!, master !== undefined),
    );
  const plotInput: PlotInput = {
    now: now.wall,
    spanNs: plottedSpan(
      shown.map((s) => s.points),
      now.wall,
      windowNs,
    ),
    thresholdNs,
  };
  const fleetSize = statuses.length;
  const legend = shown
    .map(
      (s) =>
        `<li data-node="${escapeHtml(s.node.id)}"><span class="swatch" style="background:${s.colour}"></span>${escapeHtml(s.node.id)}</li>`,
    )
    .join('');
  const plots = shown
    .map(
      (s) =>
        `<section class="node"><h3><span class="swatch" style="background:${s.colour}"></span>${escapeHtml(s.node.id)} <small>${escapeHtml(s.status.addr)} · ${stateOf(s.node).replace('_', ' ')}${frequencyText(s.status) ? ` · ${frequencyText(s.status)}` : ''}</small></h3>${nodePlot(s, plotInput)}</section>`,
    )
    .join('\n');
  const markLegend = (Object.keys(MARK_SYMBOLS) as NodeMark['kind'][])
    .map((k) => `<span style="color:${MARK_COLOURS[k]}">${MARK_SYMBOLS[k]}</span> ${k}`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>saturn: ${fleetSize} node${fleetSize === 1 ? '' : 's'}</title>
<style>${STYLE}${input.mesh ? MESH_STYLE : ''}</style></head>
<body>
<h1>saturn</h1>
${summary(statuses, input)}
<p>${fleetSize} node${fleetSize === 1 ? '' : 's'}${hidden > 0 ? ` (the ${shown.length} furthest from the master's time shown; all in <a href="/status">/status</a> and <code>saturn status</code>)` : ''} · threshold ±${offsetLabel(thresholdNs).slice(1)} · offset = node clock − master clock · as of ${isoNanos(now.wall).slice(0, 19)}Z (master clock) · reloads every ${refreshSeconds} s · <a href="/status">/status</a> · <a href="/metrics">/metrics</a></p>
<table><thead><tr><th>node</th><th>address</th><th>state</th><th class="num">offset ms</th><th class="num">error ms</th>${master ? '<th class="num" title="node clock − the time the majority agrees on">vs agreed ms</th>' : ''}<th class="num">freq ppm</th><th class="num">± ppm</th><th class="num">rtt ms</th><th class="num">interval</th><th class="num">checks</th><th class="num">discarded</th><th>last seen</th></tr></thead>
<tbody>
${tableRows.join('\n')}
</tbody></table>
${
  input.mesh
    ? meshSection(
        meshMatrixInput(input, input.mesh),
        statuses.map((s) => s.id),
      )
    : ''
}
<h2>All nodes: offset (symmetric log scale)</h2>
${overviewPlot(shown, plotInput)}
<ul class="legend">${legend}</ul>
<h2>Each node: offset ± error bound</h2>
<p class="marks">Marks: ${markLegend}</p>
${plots}
</body></html>
`;
}
