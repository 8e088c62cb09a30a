/**
 * What a slave's history costs the master: CPU per check and memory per node, for the history
 * that measures frequencies (OffsetHistory) and, as the baseline in the same run, the fixed-drift
 * history it replaced (bench/lib). N histories are each fed an hour of checks 10 s apart (360: the
 * frequency's window fills, so the history is at its steady size), jittered intervals around a
 * slowly drifting offset, round-robin as a master sees them; then every history gets one more
 * hour, timed. Memory is the heap growth after a forced GC, per node.
 *
 *   npm run bench:history -- [--nodes 10000] [--checks 360]
 *
 * Run with --expose-gc (the npm script does) so the heap figures are after a full collection.
 */
import { parseArgs } from 'node:util';
import type { Estimate } from '../src/estimate/check.js';
import { OffsetHistory } from '../src/estimate/history.js';
import { FixedDriftHistory } from './lib/fixed-drift-history.js';

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '10000' }, checks: { type: 'string', default: '360' } },
});
const nodes = Number(values.nodes);
const checks = Number(values.checks);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:history does)');

interface History {
  add(at: bigint, estimate: Estimate): unknown;
}

/** A deterministic pseudo-random in [0, 1) (xorshift), so both histories see the same checks. */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Feeds `rounds` checks to every history, round-robin; returns ns per add. */
function feed(histories: History[], from: number, rounds: number): number {
  const next = random(from + 1);
  const start = process.hrtime.bigint();
  for (let k = from; k < from + rounds; k++) {
    const at = BigInt(k) * 10_000_000_000n;
    for (let n = 0; n < histories.length; n++) {
      const truthNs = 1e6 * (n % 7) + 3 * k * 10; // a few ppm of drift per node
      const errorNs = 100_000 + 400_000 * next();
      histories[n]!.add(at, {
        offsetNs: truthNs + (next() - 0.5) * errorNs,
        errorNs,
        rttNs: 2 * errorNs,
        kept: 4,
        total: 5,
      });
    }
  }
  return Number(process.hrtime.bigint() - start) / (rounds * histories.length);
}

function measure(name: string, make: () => History) {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const histories = Array.from({ length: nodes }, make);
  feed(histories, 0, checks);
  gc!();
  const bytesPerNode = (process.memoryUsage().heapUsed - before) / nodes;
  const nsPerCheck = feed(histories, checks, checks);
  console.log(
    `| ${name} | ${nodes} | ${(nsPerCheck / 1e3).toFixed(2)} | ${(bytesPerNode / 1024).toFixed(2)} | ${((bytesPerNode * nodes) / 2 ** 20).toFixed(1)} |`,
  );
  return { nsPerCheck, bytesPerNode, keep: histories.length };
}

console.log(`${nodes} histories, ${checks} checks 10 s apart each, then as many again timed`);
console.log('');
console.log('| history | nodes | µs per check | KiB per node | MiB for all |');
console.log('|---|---|---|---|---|');
const fixed = measure('fixed 100 ppm (baseline)', () => new FixedDriftHistory());
const now = measure('frequency (now)', () => new OffsetHistory());
console.log('');
console.log(
  `history cost: frequency ÷ fixed: ${(now.nsPerCheck / fixed.nsPerCheck).toFixed(1)}x CPU per check, ` +
    `${(now.bytesPerNode / fixed.bytesPerNode).toFixed(1)}x memory per node`,
);
