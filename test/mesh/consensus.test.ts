import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type PeerEdge, evaluateConsensus } from '../../src/mesh/consensus.js';
import { marzullo } from '../../src/mesh/marzullo.js';

const MS = 1e6;
const TOLERANCE = 1 * MS;

describe('marzullo', () => {
  // TigerBeetle's own cases (src/vsr/marzullo.zig).
  const cases: [number[], [number, number, number]][] = [
    [
      [11, 13, 10, 12, 8, 12],
      [11, 12, 3],
    ],
    [
      [8, 12, 11, 13, 14, 15],
      [11, 12, 2],
    ],
    [
      [-10, 10, -1, 1, 0, 0],
      [0, 0, 3],
    ],
    [
      [8, 12, 10, 11, 8, 10],
      [10, 10, 3],
    ],
    [
      [8, 12, 10, 12, 8, 9],
      [8, 9, 2],
    ],
    [
      [7, 9, 7, 12, 10, 11],
      [10, 11, 2],
    ],
    [
      [-9, -7, -12, -7, -11, -10],
      [-11, -10, 2],
    ],
    [
      [1, 3],
      [1, 3, 1],
    ],
    [
      [1, 3, 2, 2],
      [2, 2, 2],
    ],
    [
      [1, 3, 4, 5],
      [4, 5, 1],
    ],
  ];
  for (const [bounds, [lo, hi, count]] of cases) {
    test(`[${bounds.join(', ')}] -> [${lo}, ${hi}] shared by ${count}`, () => {
      const intervals = [];
      for (let i = 0; i < bounds.length; i += 2) intervals.push({ loNs: bounds[i]!, hiNs: bounds[i + 1]! });
      const result = marzullo(intervals);
      assert.deepEqual(result.interval, { loNs: lo, hiNs: hi });
      assert.equal(result.truechimers, count);
      assert.equal(result.members.length, count);
    });
  }
  test('no sources: no interval', () => {
    assert.equal(marzullo([]).truechimers, 0);
  });

  test('disjoint regions shared by as many sources are all given, ascending; the interval is the smallest', () => {
    const result = marzullo([
      { loNs: 0, hiNs: 3 },
      { loNs: 1, hiNs: 4 },
      { loNs: 10, hiNs: 12 },
      { loNs: 11, hiNs: 13 },
      { loNs: 5, hiNs: 6 },
    ]);
    assert.equal(result.truechimers, 2);
    assert.deepEqual(result.regions, [
      { loNs: 1, hiNs: 3 },
      { loNs: 11, hiNs: 12 },
    ]);
    assert.deepEqual(result.interval, { loNs: 11, hiNs: 12 });
  });
});

/** A fleet on a true timeline: node i's clock reads trueNs[i] ahead of true time; node 0 is the master. */
interface World {
  trueNs: number[];
  errorsNs: number[];
  noise: number[]; // in [-1, 1], where each measurement sits inside its bound
  pairs: [number, number][];
}

/** Honest measurements of a world: every interval contains the truth. */
function measure(world: World, lies: Map<string, number> = new Map()) {
  const { trueNs, errorsNs, noise } = world;
  const id = (i: number) => (i === 0 ? 'master' : `n${i}`);
  const nodes = trueNs.slice(1).map((t, k) => {
    const i = k + 1;
    const e = errorsNs[i]!;
    return { id: id(i), offsetNs: t - trueNs[0]! + noise[i]! * e, errorNs: e };
  });
  const edges: PeerEdge[] = world.pairs.map(([a, b], k) => {
    const e = errorsNs[(a + b) % errorsNs.length]!;
    const lie = lies.get(`${a}-${b}`);
    return {
      from: id(a),
      to: id(b),
      offsetNs: lie ?? trueNs[a]! - trueNs[b]! + noise[k % noise.length]! * e,
      errorNs: e,
    };
  });
  return { masterId: 'master', masterErrorNs: 2_000, nodes, edges, toleranceNs: TOLERANCE };
}

const errorArb = fc.integer({ min: 1_000, max: 200_000 }); // 1 µs to 0.2 ms
const noiseArb = fc.double({ min: -1, max: 1, noNaN: true });

/** A world of n nodes whose clocks are all within ±tolerance of true time, and random peer pairs. */
function honestWorld(minNodes = 3) {
  return fc.integer({ min: minNodes, max: 12 }).chain((n) =>
    fc.record({
      trueNs: fc.array(fc.integer({ min: -TOLERANCE / 2, max: TOLERANCE / 2 }), { minLength: n, maxLength: n }),
      errorsNs: fc.array(errorArb, { minLength: n, maxLength: n }),
      noise: fc.array(noiseArb, { minLength: n + 40, maxLength: n + 40 }),
      pairs: fc.array(fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.integer({ min: 1, max: n - 1 })), {
        maxLength: 3 * n,
      }),
    }),
  );
}

describe('consensus properties', () => {
  test('honest noise within the bounds never names anyone', () => {
    fc.assert(
      fc.property(honestWorld(), (world) => {
        const verdict = evaluateConsensus(measure(world));
        assert.equal(verdict.majority, true);
        assert.deepEqual(verdict.falsetickers, []);
        assert.equal(verdict.agree, world.trueNs.length);
      }),
      { numRuns: 300 },
    );
  });

  test('fewer than half the nodes off by more than tolerance plus errors: exactly those are named, the master included', () => {
    fc.assert(
      fc.property(
        honestWorld(3),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 3 * TOLERANCE, max: 5_000 * MS }),
        (world, offMask, sign, distance) => {
          const n = world.trueNs.length;
          const off = new Set<number>();
          for (let i = 0; i < n; i++) if (offMask[i] && (off.size + 1) * 2 < n) off.add(i);
          // Off by more than the tolerance (both sides widened) plus every error involved.
          const margin = 2 * TOLERANCE + 4 * 200_000 + TOLERANCE;
          const trueNs = world.trueNs.map((t, i) => (off.has(i) ? (sign ? 1 : -1) * (distance + margin) : t));
          const verdict = evaluateConsensus(measure({ ...world, trueNs }));
          const named = [...off].sort((a, b) => a - b).map((i) => (i === 0 ? 'master' : `n${i}`));
          assert.equal(verdict.majority, true);
          assert.deepEqual(verdict.falsetickers, named);
          for (const [id, v] of verdict.nodes) {
            const i = id === 'master' ? 0 : Number(id.slice(1));
            // The node's clock − agreed time is its true offset, within the bound.
            assert.ok(Math.abs(v.consensusOffsetNs! - trueNs[i]!) <= v.consensusErrorNs! + TOLERANCE + 1, `${id}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a split into equal halves is no_majority, and nobody is named', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 10 * MS, max: 1000 * MS }), (half, apart) => {
        const n = 2 * half;
        const world: World = {
          trueNs: Array.from({ length: n }, (_, i) => (i < half ? 0 : apart)),
          errorsNs: Array.from({ length: n }, () => 50_000),
          noise: Array.from({ length: n + 10 }, () => 0),
          pairs: [],
        };
        const verdict = evaluateConsensus(measure(world));
        assert.equal(verdict.majority, false);
        assert.deepEqual(verdict.falsetickers, []);
        assert.equal(verdict.agreed, undefined);
      }),
    );
  });

  test('any number of nodes lying in their peer reports never gets an honest node named', () => {
    fc.assert(
      fc.property(
        honestWorld(4),
        fc.integer({ min: 1, max: 11 }),
        fc.array(fc.integer({ min: -2000 * MS, max: 2000 * MS }), { minLength: 30, maxLength: 30 }),
        (world, liarCount, lieValues) => {
          const n = world.trueNs.length;
          // Slaves 1..liarCount report an edge to every other slave, with any offset they like
          // (their own clocks are honest: the master measures them within the tolerance).
          const liars = new Set(Array.from({ length: Math.min(liarCount, n - 1) }, (_, k) => k + 1));
          const lies = new Map<string, number>();
          const pairs: [number, number][] = [...world.pairs];
          for (const liar of liars) {
            for (let b = 1; b < n; b++) {
              if (b === liar) continue;
              pairs.push([liar, b]);
              lies.set(`${liar}-${b}`, lieValues[(liar * 7 + b) % lieValues.length]!);
            }
          }
          const verdict = evaluateConsensus(measure({ ...world, pairs }, lies));
          assert.deepEqual(verdict.falsetickers, [], 'nobody is named: every clock is within the tolerance');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('consensus, the cases the issue names', () => {
  const world = (trueMs: number[]): World => ({
    trueNs: trueMs.map((t) => t * MS),
    errorsNs: trueMs.map(() => 100_000),
    noise: Array.from({ length: 40 }, (_, i) => Math.sin(i)),
    pairs: [
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 1],
    ],
  });

  test('the master 500 ms fast: the master is named, its offset +500 ms from the agreed time, the slaves agree', () => {
    const verdict = evaluateConsensus(measure(world([500, 0, 0, 0, 0])));
    assert.deepEqual(verdict.falsetickers, ['master']);
    assert.equal(verdict.agree, 4);
    assert.equal(verdict.of, 5);
    assert.ok(Math.abs(verdict.nodes.get('master')!.consensusOffsetNs! - 500 * MS) < 1 * MS);
    for (const id of ['n1', 'n2', 'n3', 'n4']) {
      assert.ok(Math.abs(verdict.nodes.get(id)!.consensusOffsetNs!) < 1 * MS, id);
      assert.equal(verdict.nodes.get(id)!.paths, 3, `${id}: direct and two peers`);
    }
    assert.ok(Math.abs(midpointOf(verdict.agreed!) + 500 * MS) < 1 * MS, 'agreed time is 500 ms behind the master');
  });

  test('one slave 500 ms fast: that slave is named, the master is not', () => {
    const verdict = evaluateConsensus(measure(world([0, 0, 500, 0, 0])));
    assert.deepEqual(verdict.falsetickers, ['n2']);
  });

  test('paths that miss the direct measurement are reported, never voted with: the master measures n1 5 ms off', () => {
    const input = measure(world([0, 0, 0, 0, 0]));
    // The master's measurement of n1 says 5 ms ± 1 ms; its two peers say 0 (a one-sided path
    // asymmetry beyond the bound, or two peers lying about n1: the master cannot tell which).
    (input.nodes as { id: string; offsetNs: number; errorNs: number }[])[0] = {
      id: 'n1',
      offsetNs: 5 * MS,
      errorNs: MS,
    };
    const verdict = evaluateConsensus(input);
    const n1 = verdict.nodes.get('n1')!;
    assert.deepEqual(
      n1.disagreeing.map((p) => p.via),
      ['n2', 'n4'],
    );
    assert.ok(Math.abs(midpointOf(n1.estimate) - 5 * MS) <= MS, 'the estimate stays within the direct interval');
    assert.deepEqual(verdict.falsetickers, ['n1'], "the vote goes by the master's own measurement");
  });

  test('invented identities lying about an honest node never get it named, however many paths they add', () => {
    // Four honest slaves and the master; four invented reporters (fewer than half of the nine
    // voters) each report n1 400 ms behind them, and their own clocks agree with everyone.
    const honest = world([0, 0, 0, 0, 0]);
    const input = measure(honest);
    const fakes = ['f1', 'f2', 'f3', 'f4'];
    const nodes = [...input.nodes, ...fakes.map((id) => ({ id, offsetNs: 0, errorNs: 100_000 }))];
    const edges = [...input.edges, ...fakes.map((from) => ({ from, to: 'n1', offsetNs: 400 * MS, errorNs: 10_000 }))];
    const verdict = evaluateConsensus({ ...input, nodes, edges });
    assert.deepEqual(verdict.falsetickers, []);
    const n1 = verdict.nodes.get('n1')!;
    assert.deepEqual(n1.disagreeing.map((p) => p.via).sort(), fakes, 'the lies are reported');
    assert.ok(Math.abs(midpointOf(n1.estimate)) < MS);
    // The fakes' own clocks 400 ms behind, claiming to agree with everyone: they are the ones named.
    const shifted = nodes.map((node) => (fakes.includes(node.id) ? { ...node, offsetNs: -400 * MS } : node));
    const lies = fakes.flatMap((from) =>
      ['n1', 'n2', 'n3', 'n4'].map((to) => ({ from, to, offsetNs: 0, errorNs: 10_000 })),
    );
    const second = evaluateConsensus({ ...input, nodes: shifted, edges: [...input.edges, ...lies] });
    assert.deepEqual(second.falsetickers, fakes);
  });

  test('a slave drifting out of reach ties two regions of 4 of 5 clocks: the honest master is not named, the slave only once it is beyond every honest clock', () => {
    // As under faketime at 200 ppm, seconds after start: the honest slaves' early checks are wide
    // enough that, widened by the tolerance, they reach both the master and the fast slave, whose
    // own widened intervals no longer meet. Region [−1, 1] ms holds m, n1-n3; [1.08, 1.15] ms holds
    // n1-n3 and fast: four each. The smaller region is no more agreed than the other.
    const input = (fastMs: number) => ({
      masterId: 'master',
      masterErrorNs: 10,
      nodes: [
        { id: 'n1', offsetNs: 0, errorNs: 0.15 * MS },
        { id: 'n2', offsetNs: 0.01 * MS, errorNs: 0.15 * MS },
        { id: 'n3', offsetNs: -0.01 * MS, errorNs: 0.16 * MS },
        { id: 'fast', offsetNs: fastMs * MS, errorNs: 0.08 * MS },
      ],
      edges: [],
      toleranceNs: TOLERANCE,
    });
    const tied = evaluateConsensus(input(2.16));
    assert.deepEqual(tied.falsetickers, [], 'nobody is outside both regions');
    assert.equal(tied.majority, true);
    assert.ok(tied.agreed!.loNs <= 0 && 0 <= tied.agreed!.hiNs, 'the agreed time holds the true time (0)');
    const beyond = evaluateConsensus(input(3));
    assert.deepEqual(beyond.falsetickers, ['fast']);
  });

  test('with fewer than 3 nodes there is no verdict', () => {
    const verdict = evaluateConsensus(measure({ ...world([0, 500]), pairs: [] }));
    assert.equal(verdict.majority, false);
    assert.deepEqual(verdict.falsetickers, []);
  });
});

function midpointOf(i: { loNs: number; hiNs: number }): number {
  return (i.loNs + i.hiNs) / 2;
}
