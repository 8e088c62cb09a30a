import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Estimate, estimateCheck } from '../../src/estimate/check.js';
import { OffsetHistory } from '../../src/estimate/history.js';
import { EPOCH_2023_NS, NS_PER_S, legArb, offsetArb, resolutionArb, simulateCheck } from './exchange.js';

const S = BigInt(NS_PER_S);
const at = (seconds: number): bigint => EPOCH_2023_NS + BigInt(seconds) * S;
const est = (offsetNs: number, errorNs: number, rttNs = 2 * errorNs): Estimate => ({
  offsetNs,
  errorNs,
  rttNs,
  kept: 4,
  total: 5,
});

describe('OffsetHistory', () => {
  it('returns the first check as it is', () => {
    const history = new OffsetHistory();
    assert.deepEqual(history.add(at(0), est(1_000, 500, 900)), {
      offsetNs: 1_000,
      errorNs: 500,
      rttNs: 900,
      checks: 1,
      reset: false,
    });
  });

  it('narrows with consistent checks, widening the older by driftPpm × age', () => {
    const history = new OffsetHistory({ driftPpm: 100 });
    history.add(at(0), est(0, 1_000_000)); // [-1 ms, 1 ms]
    // 10 s later at 100 ppm the first becomes [-2 ms, 2 ms]; the new one is [1.5 ms, 2.5 ms].
    assert.deepEqual(history.add(at(10), est(2_000_000, 500_000, 7)), {
      offsetNs: 1_750_000,
      errorNs: 250_000,
      rttNs: 7,
      checks: 2,
      reset: false,
    });
  });

  it('takes the point from the likely drift and the bound from the worst case', () => {
    const history = new OffsetHistory({ driftPpm: 100, likelyDriftPpm: 15 });
    history.add(at(0), est(0, 100_000)); // [-100 µs, 100 µs]
    // 10 s later: proven (±1 ms) ∩ [-100, 700] µs = [-100, 700]; likely (±150 µs) ∩ = [-100, 250].
    const combined = history.add(at(10), est(300_000, 400_000));
    assert.deepEqual([combined.offsetNs, combined.errorNs, combined.checks], [75_000, 625_000, 2]);
  });

  it('falls back to the proven midpoint when the clock drifts faster than likely', () => {
    const history = new OffsetHistory({ driftPpm: 100, likelyDriftPpm: 15 });
    history.add(at(0), est(0, 100_000));
    // Drifted 500 µs in 10 s (50 ppm): the likely intersection is empty, the proven one is not.
    const combined = history.add(at(10), est(500_000, 100_000));
    assert.deepEqual([combined.offsetNs, combined.errorNs, combined.reset], [500_000, 100_000, false]);
  });

  it('defaults likelyDriftPpm to 15, or to driftPpm when lower', () => {
    assert.equal(new OffsetHistory().likelyDriftPpm, 15);
    assert.equal(new OffsetHistory({ driftPpm: 5 }).likelyDriftPpm, 5);
    assert.throws(() => new OffsetHistory({ driftPpm: 10, likelyDriftPpm: 20 }), /likelyDriftPpm .* got 20/);
  });

  it('with driftPpm 0 intersects the plain intervals', () => {
    const history = new OffsetHistory({ driftPpm: 0 });
    history.add(at(0), est(0, 100));
    history.add(at(3600), est(50, 100));
    const combined = history.add(at(7200), est(-20, 100));
    assert.deepEqual([combined.offsetNs, combined.errorNs, combined.checks], [15, 65, 3]);
  });

  it('is never moved by one congested check', () => {
    const history = new OffsetHistory();
    history.add(at(0), est(0, 10_000));
    const combined = history.add(at(10), est(40_000_000, 45_000_000)); // wide: a queue somewhere
    assert.equal(combined.reset, false);
    assert.ok(Math.abs(combined.offsetNs) <= 1_010_000 && combined.errorNs <= 1_010_000);
  });

  it('resets to the newest check when it contradicts the history', () => {
    const history = new OffsetHistory();
    for (let i = 0; i < 5; i += 1) history.add(at(i * 10), est(0, 1_000));
    // The slave stepped by 300 ms: the old intervals (widened by at most 5 ms) are disjoint.
    assert.deepEqual(history.add(at(50), est(300_000_000, 2_000, 11)), {
      offsetNs: 300_000_000,
      errorNs: 2_000,
      rttNs: 11,
      checks: 1,
      reset: true,
    });
    assert.equal(history.length, 1);
    const next = history.add(at(60), est(300_000_000, 2_000));
    assert.equal(next.checks, 2);
    assert.equal(next.reset, false);
  });

  it('combines at most `size` checks, the newest included', () => {
    const history = new OffsetHistory({ size: 3 });
    const checks = Array.from({ length: 6 }, (_, i) => history.add(at(i), est(0, 100)).checks);
    assert.deepEqual(checks, [1, 2, 3, 3, 3, 3]);
    assert.equal(history.length, 3);
  });

  it('forgets the oldest: a check beyond the window no longer narrows the estimate', () => {
    const history = new OffsetHistory({ size: 2, driftPpm: 0 });
    history.add(at(0), est(0, 10)); // [-10, 10], will leave the window
    history.add(at(1), est(0, 100));
    assert.equal(history.add(at(2), est(0, 100)).errorNs, 100);
  });

  it('tolerates an out-of-order instant with a symmetric age', () => {
    const history = new OffsetHistory({ driftPpm: 100 });
    history.add(at(10), est(0, 0));
    const combined = history.add(at(0), est(1_000_000, 0)); // 10 s apart either way: ±1 ms
    assert.deepEqual([combined.offsetNs, combined.errorNs, combined.reset], [1_000_000, 0, false]);
  });

  it('throws RangeError naming bad options and estimates', () => {
    assert.throws(() => new OffsetHistory({ size: 0 }), /size .* got 0/);
    assert.throws(() => new OffsetHistory({ size: 2.5 }), RangeError);
    assert.throws(() => new OffsetHistory({ driftPpm: -1 }), /driftPpm .* got -1/);
    assert.throws(() => new OffsetHistory({ driftPpm: Number.NaN }), RangeError);
    assert.throws(() => new OffsetHistory().add(at(0), est(0, -1)), RangeError);
  });

  it('property: holds the truth for a slave drifting at up to driftPpm, and stays inside the newest check', () => {
    const checkArb = fc.record({
      gapSeconds: fc.integer({ min: 1, max: 600 }),
      driftFraction: fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom(-1, 1)),
      legs: fc.array(legArb, { minLength: 1, maxLength: 8 }),
    });
    fc.assert(
      fc.property(
        offsetArb,
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(checkArb, { minLength: 1, maxLength: 20 }),
        resolutionArb,
        (startOffsetNs, driftPpm, size, checks, resolutionNs) => {
          const history = new OffsetHistory({ size, driftPpm });
          let offsetNs = startOffsetNs;
          let now = EPOCH_2023_NS;
          for (const check of checks) {
            const gapNs = check.gapSeconds * NS_PER_S;
            now += BigInt(gapNs);
            // Drift over the gap, truncated toward zero so it never exceeds driftPpm × gap.
            offsetNs += Math.trunc((check.driftFraction * driftPpm * gapNs) / 1e6);
            const samples = simulateCheck(now, offsetNs, check.legs, resolutionNs, resolutionNs);
            const outcome = estimateCheck(samples, 2 * resolutionNs);
            assert.ok(outcome.ok);
            const newest = outcome.estimate;
            const combined = history.add(now, newest);
            assert.ok(
              Math.abs(combined.offsetNs - offsetNs) <= combined.errorNs,
              `truth ${offsetNs} outside ${combined.offsetNs} ± ${combined.errorNs}`,
            );
            // The point never leaves the newest check's interval (the history only narrows it).
            assert.ok(Math.abs(combined.offsetNs - newest.offsetNs) <= newest.errorNs);
            assert.equal(combined.reset, false); // a drift within the bound never resets
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a step larger than the history can explain shows at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(-1, 1),
        (before, errorNs, extraNs, sign) => {
          const history = new OffsetHistory({ driftPpm: 100 });
          for (let i = 0; i < before; i += 1) history.add(at(i * 10), est(0, errorNs));
          // At 100 ppm over ≤ 80 s the old intervals widen by ≤ 8 ms: step past all of that.
          const stepNs = sign * (2 * errorNs + 8_000_000 + extraNs);
          const combined = history.add(at(before * 10), est(stepNs, errorNs));
          assert.deepEqual([combined.offsetNs, combined.errorNs, combined.reset], [stepNs, errorNs, true]);
        },
      ),
    );
  });
});
