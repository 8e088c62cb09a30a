import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type TimedInterval, estimateFrequency, slopeBounds } from '../../src/estimate/frequency.js';
import { EPOCH_2023_NS, NS_PER_S, driftingChecks, legArb, resolutionArb } from './exchange.js';

const S = BigInt(NS_PER_S);
const point = (seconds: number, loNs: number, hiNs: number): TimedInterval => ({
  at: EPOCH_2023_NS + BigInt(Math.round(seconds * NS_PER_S)),
  interval: { loNs, hiNs },
});

/**
 * The oracle: the slopes of the lines a + f·t through every interval, by brute force over the
 * vertices of the feasible polygon in (a, f). Each vertex is where two constraint lines
 * a + f·t_i = (lo_i or hi_i) cross; the polygon is bounded in f once two instants differ, so the
 * extreme slopes are at vertices. Independent of the pairwise formula under test.
 */
function bruteForceSlopes(ts: number[], los: number[], his: number[]): { lo: number; hi: number } | undefined {
  const feasible = (a: number, f: number) =>
    ts.every((t, i) => {
      const y = a + f * t;
      const slack = 1e-9 * (1 + Math.abs(y));
      return y >= los[i]! - slack && y <= his[i]! + slack;
    });
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ts.length; i++) {
    for (let j = 0; j < ts.length; j++) {
      if (ts[i] === ts[j]) continue;
      for (const yi of [los[i]!, his[i]!]) {
        for (const yj of [los[j]!, his[j]!]) {
          const f = (yj - yi) / (ts[j]! - ts[i]!);
          const a = yi - f * ts[i]!;
          if (feasible(a, f)) ((lo = Math.min(lo, f)), (hi = Math.max(hi, f)));
        }
      }
    }
  }
  return lo <= hi ? { lo, hi } : undefined;
}

describe('slopeBounds: the slopes of the lines through every interval', () => {
  it('two intervals: from the low end of the first to the high end of the second, and back', () => {
    // [0, 10] at t=0 and [100, 110] at t=10: slopes from (100 − 10)/10 = 9 to (110 − 0)/10 = 11.
    assert.deepEqual(slopeBounds([0, 10], [0, 100], [10, 110]), { lo: 9, hi: 11 });
  });

  it('is (−∞, ∞) for one instant, and empty for disjoint intervals at one instant', () => {
    assert.deepEqual(slopeBounds([5], [0], [1]), { lo: -Infinity, hi: Infinity });
    assert.deepEqual(slopeBounds([5, 5], [0, 0.5], [1, 2]), { lo: -Infinity, hi: Infinity });
    assert.deepEqual(slopeBounds([5, 5], [0, 2], [1, 3]), { lo: Infinity, hi: -Infinity });
  });

  it('property: equals the brute-force LP (same slopes when lines fit, no line when they do not)', () => {
    const pointArb = fc.record({
      t: fc.integer({ min: 0, max: 20 }),
      mid: fc.integer({ min: -100, max: 100 }),
      half: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(fc.array(pointArb, { minLength: 2, maxLength: 8 }), (raw) => {
        const points = [...raw].sort((a, b) => a.t - b.t);
        const ts = points.map((p) => p.t);
        const los = points.map((p) => p.mid - p.half);
        const his = points.map((p) => p.mid + p.half);
        const bounds = slopeBounds(ts, los, his);
        const oracle = bruteForceSlopes(ts, los, his);
        if (new Set(ts).size < 2) return; // no slope is bounded: covered above
        if (oracle === undefined) {
          assert.ok(bounds.lo > bounds.hi, `LP infeasible, pairs say [${bounds.lo}, ${bounds.hi}]`);
        } else {
          assert.ok(Math.abs(bounds.lo - oracle.lo) < 1e-9 && Math.abs(bounds.hi - oracle.hi) < 1e-9);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('estimateFrequency', () => {
  it('measures a clock 130 ppm fast from two checks 10 s apart, with the bound of their widths', () => {
    // 1.3 ms in 10 s; each interval ±10 µs: the slopes run from (1290 − 10)/10 s to (1310 + 10)/10 s.
    const outcome = estimateFrequency([point(0, -10_000, 10_000), point(10, 1_290_000, 1_310_000)], 0);
    assert.ok(outcome.ok);
    const { ppm, loPpm, hiPpm, spanNs, intervals } = outcome.frequency;
    assert.ok(Math.abs(ppm - 130) < 1e-9 && Math.abs(loPpm - 128) < 1e-6 && Math.abs(hiPpm - 132) < 1e-6);
    assert.deepEqual([spanNs, intervals], [10 * NS_PER_S, 2]);
  });

  it('widens the bound by the wander on each side', () => {
    const outcome = estimateFrequency([point(0, -10_000, 10_000), point(10, 1_290_000, 1_310_000)], 5);
    assert.ok(outcome.ok);
    assert.ok(Math.abs(outcome.frequency.loPpm - 123) < 1e-6 && Math.abs(outcome.frequency.hiPpm - 137) < 1e-6);
  });

  it('takes the points in any order', () => {
    const a = estimateFrequency([point(0, 0, 10), point(5, 50, 60), point(10, 100, 110)], 0);
    const b = estimateFrequency([point(10, 100, 110), point(0, 0, 10), point(5, 50, 60)], 0);
    assert.deepEqual(a, b);
  });

  it('has no frequency from one instant, and calls a step inconsistent', () => {
    assert.equal(estimateFrequency([point(0, 0, 10)]).ok, false);
    assert.deepEqual(estimateFrequency([]), {
      ok: false,
      reason: 'too_few',
      detail: '0 interval(s) at one instant bound no rate',
    });
    // Flat for 20 s at ±1 µs, then 1 ms higher: no line, nor a band 1 ppm wide, fits.
    const step = [
      point(0, -1_000, 1_000),
      point(10, -1_000, 1_000),
      point(20, -1_000, 1_000),
      point(30, 999_000, 1_001_000),
    ];
    const outcome = estimateFrequency(step, 1);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.reason, 'inconsistent');
  });

  it('throws RangeError on a bad wander or interval', () => {
    assert.throws(() => estimateFrequency([], -1), /wanderPpm .* got -1/);
    assert.throws(() => estimateFrequency([point(0, 10, 0)]), RangeError);
    assert.throws(() => estimateFrequency([point(0, 0, Number.NaN)]), RangeError);
  });

  it('property: for any offset and any frequency (±10,000 ppm) and any non-negative delays, the bound holds the truth', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10 * NS_PER_S, max: 10 * NS_PER_S }),
        fc.oneof(fc.double({ min: -10_000, max: 10_000, noNaN: true }), fc.constantFrom(0, 100, -130, 5_000)),
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 0, max: 600_000 }),
            legs: fc.array(legArb, { minLength: 1, maxLength: 5 }),
          }),
          {
            minLength: 2,
            maxLength: 12,
          },
        ),
        resolutionArb,
        (startOffsetNs, truePpm, checks, resolutionNs) => {
          const points: TimedInterval[] = [];
          for (const { at, estimate } of driftingChecks(startOffsetNs, truePpm, checks, resolutionNs)) {
            points.push({
              at,
              interval: { loNs: estimate.offsetNs - estimate.errorNs, hiNs: estimate.offsetNs + estimate.errorNs },
            });
          }
          const outcome = estimateFrequency(points, 0);
          if (!outcome.ok) {
            // Only when every check fell on one instant: a line always fits the truth's intervals.
            assert.equal(outcome.reason, 'too_few');
            return;
          }
          // The truth was rounded to whole ns per check: allow that much slope over the shortest gap.
          const { loPpm, hiPpm } = outcome.frequency;
          const slackPpm = 1e6 / Math.max(1, Number(minGap(points)));
          assert.ok(
            loPpm - slackPpm <= truePpm && truePpm <= hiPpm + slackPpm,
            `${truePpm} ppm outside [${loPpm}, ${hiPpm}]`,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a frequency that wanders within the band stays inside the bound at every instant', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -2_000, max: 2_000, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(
          fc.record({
            gapS: fc.integer({ min: 1, max: 300 }),
            within: fc.double({ min: 0, max: 1, noNaN: true }),
            halfNs: fc.integer({ min: 0, max: 2_000_000 }),
            skew: fc.double({ min: -1, max: 1, noNaN: true }),
          }),
          {
            minLength: 2,
            maxLength: 12,
          },
        ),
        (basePpm, wanderPpm, steps) => {
          // A piecewise-linear offset whose slope stays in [basePpm, basePpm + wanderPpm]; each
          // check's interval holds it somewhere inside (skew), at any width.
          const points: TimedInterval[] = [];
          const slopes: number[] = [];
          let offsetNs = 0;
          let at = EPOCH_2023_NS;
          for (const step of steps) {
            const ppm = basePpm + step.within * wanderPpm;
            slopes.push(ppm);
            at += BigInt(step.gapS) * S;
            offsetNs += (ppm * step.gapS * NS_PER_S) / 1e6;
            const mid = offsetNs + step.skew * step.halfNs;
            points.push({ at, interval: { loNs: mid - step.halfNs - 1e-3, hiNs: mid + step.halfNs + 1e-3 } });
          }
          const outcome = estimateFrequency(points, wanderPpm);
          assert.ok(outcome.ok, 'a path within the band never contradicts it');
          for (const ppm of slopes.slice(1)) {
            assert.ok(outcome.frequency.loPpm <= ppm + 1e-6 && ppm - 1e-6 <= outcome.frequency.hiPpm);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

function minGap(points: readonly TimedInterval[]): bigint {
  const ats = points.map((p) => p.at).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let min = BigInt(Number.MAX_SAFE_INTEGER);
  for (let i = 1; i < ats.length; i++)
    if (ats[i]! > ats[i - 1]! && ats[i]! - ats[i - 1]! < min) min = ats[i]! - ats[i - 1]!;
  return min;
}
