/**
 * Mesh consensus cost: one evaluation (paths, per-node estimates, Marzullo over the fleet) for N
 * nodes with E peer edges each, on one core. Baseline in the same run: sorting the 2N interval
 * ends alone, the floor of any Marzullo vote. Target: < 50 ms for 10,000 nodes with 3 edges
 * (it runs at most once a second).
 *
 * With `--split`, the fleet has no majority: pairs of clocks 10 ms apart, so the vote's best
 * count (2) is tied by N/2 disjoint regions, the worst case for telling who agrees.
 *
 *   npm run bench:mesh -- [--nodes 1000,10000] [--edges 3] [--runs 20] [--split]
 */
import { performance } from 'node:perf_hooks';
import { type PeerEdge, evaluateConsensus } from '../src/mesh/consensus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const counts = arg('nodes', '1000,10000').split(',').map(Number);
const edgesEach = Number(arg('edges', '3'));
const runs = Number(arg('runs', '20'));

const split = process.argv.includes('--split');

/** A fleet with a few wrong clocks (1%) and noisy honest measurements; with --split, pairs of clocks 10 ms apart. */
function fleet(n: number) {
  const trueNs = Array.from({ length: n }, (_, i) =>
    split ? 5e6 + Math.floor(i / 2) * 10e6 : i % 100 === 7 ? 500e6 : (Math.random() - 0.5) * 200e3,
  );
  const nodes = trueNs.map((t, i) => ({ id: `n${i}`, offsetNs: t + (Math.random() - 0.5) * 40e3, errorNs: 50e3 }));
  const edges: PeerEdge[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = 1; k <= edgesEach; k++) {
      const j = (i + k * 7919) % n;
      edges.push({
        from: `n${i}`,
        to: `n${j}`,
        offsetNs: trueNs[i]! - trueNs[j]! + (Math.random() - 0.5) * 40e3,
        errorNs: 50e3,
      });
    }
  }
  return { masterId: 'master', masterErrorNs: 2_000, nodes, edges, toleranceNs: 1e6 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

console.log(
  `mesh consensus, ${edgesEach} edges per node, ${runs} runs each (medians)${split ? ', no majority (--split)' : ''}`,
);
console.log('nodes    evaluation ms   sort-only ms   ratio   falsetickers');
for (const n of counts) {
  const input = fleet(n);
  const times: number[] = [];
  const sorts: number[] = [];
  let named = 0;
  for (let r = 0; r < runs + 5; r++) {
    const ends = new Float64Array(2 * n);
    for (let i = 0; i < 2 * n; i++) ends[i] = Math.random();
    let started = performance.now();
    ends.sort();
    const sortMs = performance.now() - started;
    started = performance.now();
    const verdict = evaluateConsensus(input);
    const ms = performance.now() - started;
    named = verdict.falsetickers.length;
    if (r >= 5) {
      times.push(ms);
      sorts.push(sortMs);
    }
  }
  const t = median(times);
  const s = median(sorts);
  console.log(
    `${String(n).padEnd(8)} ${t.toFixed(2).padStart(13)} ${s.toFixed(2).padStart(14)} ${(t / s).toFixed(1).padStart(6)}x ${String(named).padStart(14)}`,
  );
}
