/**
 * The dashboard's mesh section: the vote in one sentence, and the pairwise agreement of the nodes
 * shown as a matrix (row − column, in ms, as measured: the master's own checks for its row and
 * column, peer checks for the rest), each cell green when the two clocks agree within the
 * tolerance and their error bounds, red when they provably do not. Falsetickers are marked `x`
 * and red in the headers. Pure: HTML out.
 */
import type { Consensus, PeerEdge } from '../mesh/consensus.js';
import { escapeHtml as escape } from './html.js';

export interface MeshMatrixInput {
  /** The master's --name. */
  masterId: string;
  /** --mesh-tolerance, ns. */
  toleranceNs: number;
  consensus: Consensus | undefined;
  /** The nodes the mesh names (their events raised). */
  named: readonly string[];
  /** Each slave's estimate from the master's checks (slave − master), ns. */
  direct: ReadonlyMap<string, { readonly offsetNs: number; readonly errorNs: number }>;
  /** Fresh peer edges (from − to). */
  edges: readonly PeerEdge[];
}

/** Nodes in the matrix at most (the worst first; a 16 × 16 grid still reads). */
export const MAX_MATRIX_NODES = 16;

const signedMs = (ns: number) => `${ns >= 0 ? '+' : '−'}${(Math.abs(ns) / 1e6).toFixed(3)}`;

/** What is known of row − column: a measured interval, or nothing. */
function measured(input: MeshMatrixInput, byPair: Map<string, PeerEdge>, row: string, col: string) {
  if (col === input.masterId) return input.direct.get(row);
  if (row === input.masterId) {
    const d = input.direct.get(col);
    return d && { offsetNs: -d.offsetNs, errorNs: d.errorNs };
  }
  const there = byPair.get(`${row}\n${col}`);
  if (there) return there;
  const back = byPair.get(`${col}\n${row}`);
  return back && { offsetNs: -back.offsetNs, errorNs: back.errorNs };
}

/** The section: `ids` are the nodes to show, in order (the master among them). */
export function meshSection(input: MeshMatrixInput, ids: readonly string[]): string {
  const c = input.consensus;
  const named = new Set(input.named);
  const vote = !c
    ? 'no vote yet'
    : c.of < 3
      ? `${c.of} clock${c.of === 1 ? '' : 's'} with an estimate: too few to vote (3 needed); offsets are judged against the master`
      : !c.majority
        ? `<b class="alert">no majority</b>: at most ${c.agree} of ${c.of} clocks agree; offsets are judged against the master`
        : `${c.agree} of ${c.of} clocks agree; agreed time = master clock ${signedMs((c.agreed!.loNs + c.agreed!.hiNs) / 2)} ms; ` +
          `falsetickers: ${named.size === 0 ? 'none' : [...named].map((id) => `<b class="alert">${escape(id)}</b>`).join(', ')}`;
  const shown = ids.slice(0, MAX_MATRIX_NODES);
  const byPair = new Map(input.edges.map((e) => [`${e.from}\n${e.to}`, e]));
  const head = (id: string) =>
    `<th class="${named.has(id) ? 'falseticker' : ''}" title="${escape(id)}">${named.has(id) ? 'x ' : ''}${escape(id)}</th>`;
  const cell = (row: string, col: string) => {
    if (row === col) return '<td class="self">—</td>';
    const m = measured(input, byPair, row, col);
    if (!m) return '<td class="none" title="not measured">·</td>';
    const agree = Math.abs(m.offsetNs) - m.errorNs <= input.toleranceNs;
    return `<td class="${agree ? 'agree' : 'disagree'}" title="${escape(row)} − ${escape(col)} = ${signedMs(m.offsetNs)} ± ${(m.errorNs / 1e6).toFixed(3)} ms">${signedMs(m.offsetNs)}</td>`;
  };
  const rows = shown.map((row) => `<tr>${head(row)}${shown.map((col) => cell(row, col)).join('')}</tr>`).join('\n');
  const more = ids.length > shown.length ? ` (the ${shown.length} worst of ${ids.length} nodes)` : '';
  return `<h2>Mesh: who agrees with whom</h2>
<p class="vote">${vote}</p>
<table class="matrix"><thead><tr><th>row − column, ms${more}</th>${shown.map(head).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="marks">Green: the two clocks agree within the tolerance (±${(input.toleranceNs / 1e6).toFixed(3)} ms) and their error bounds; red: they provably do not; · not measured. The master's row and column are its own checks, the others peer checks.</p>`;
}

/** The section's styles. */
export const MESH_STYLE = `
table.matrix td,table.matrix th{padding:.2em .5em;text-align:right;font-variant-numeric:tabular-nums;border:1px solid #e4e4e4}
table.matrix td.agree{background:#eef8ee;color:#1d6b1d}table.matrix td.disagree{background:#fde8e8;color:#a00000;font-weight:bold}
table.matrix td.none,table.matrix td.self{color:#bbb;text-align:center}table.matrix th.falseticker{color:#c00000}
.alert{color:#c00000}
`;
