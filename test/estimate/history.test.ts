import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Estimate } from '../../src/estimate/check.js';
import { type Combined, OffsetHistory } from '../../src/estimate/history.js';
import { EPOCH_2023_NS, NS_PER_S, driftingChecks, legArb, offsetArb, resolutionArb } from './exchange.js';

const S = BigInt(NS_PER_S);
const at = (seconds: number): bigint => EPOCH_2023_NS + BigInt(Math.round(seconds * 1000)) * 1_000_000n;
const est = (offsetNs: number, errorNs: number, rttNs = 2 * errorNs): Estimate => ({
  offsetNs,
  errorNs,
  rttNs,
  kept: 4,
  total: 5,
});
const near = (actual: number, expected: number, tolerance = 0.01) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} ± ${tolerance}`);
const holds = (c: Combined, truthNs: number) =>
  assert.ok(Math.abs(c.offsetNs - truthNs) <= c.errorNs, `truth ${truthNs} outside ${c.offsetNs} ± ${c.errorNs}`);

describe('OffsetHistory', () => {
  it('returns the first check as it is, with no frequency yet', () => {
    const history = new OffsetHistory();
    assert.deepEqual(history.add(at(0), est(1_000, 500, 900)), {
      offsetNs: 1_000,
      errorNs: 500,
      rttNs: 900,
      checks: 1,
      reset: false,
      frequency: undefined,
    });
  });

  it('two checks bound the frequency (their slopes, widened by the wander) but cannot narrow the newest', () => {
    const history = new OffsetHistory({ wanderPpm: 1 });
    history.add(at(0), est(0, 1_000_000)); // [-1 ms, 1 ms]
    const combined = history.add(at(10), est(2_000_000, 500_000, 7)); // [1.5 ms, 2.5 ms]
    // Slopes from (1.5 − 1) ms / 10 s = 50 ppm to (2.5 + 1) ms / 10 s = 350 ppm, ± 1 ppm of wander.
    near(combined.frequency!.loPpm, 49, 1e-6);
    near(combined.frequency!.hiPpm, 351, 1e-6);
    near(combined.frequency!.ppm, 200, 1e-6);
    assert.deepEqual(
      [combined.offsetNs, combined.errorNs, combined.checks, combined.rttNs],
      [2_000_000, 500_000, 2, 7],
    );
  });

  it('carries narrow older checks at the proven frequency to pin a wide newest one', () => {
    const history = new OffsetHistory({ wanderPpm: 1 });
    history.add(at(0), est(0, 1_000));
    history.add(at(10), est(130_000, 1_000)); // 13 ppm
    const combined = history.add(at(20), est(260_000, 500_000)); // a congested check: ±500 µs
    // Frequency [12.8, 13.2] ppm ± 1: the check 10 s old carries to [247, 273] µs, the 20 s old to
    // [235, 285] µs. The point carries both at 13 ppm to [259, 261] µs: 260 µs.
    near(combined.frequency!.loPpm, 11.8, 1e-6);
    near(combined.frequency!.hiPpm, 14.2, 1e-6);
    near(combined.offsetNs, 260_000);
    near(combined.errorNs, 13_000, 1); // rounded up to the ns
    assert.equal(combined.checks, 3);
  });

  it('carries a clock 130 ppm fast at its own rate: no fixed largest drift to outgrow', () => {
    // Checks 1 s apart, each ±0.2 µs: with a fixed 100 ppm widening the history would pin the offset
    // where a 100 ppm clock would be, off the truth by 30 ns per second of age.
    const history = new OffsetHistory({ wanderPpm: 1 });
    for (let i = 0; i < 48; i++) {
      const truthNs = 130 * i * 1_000; // 130 ppm × i s
      const combined = history.add(at(i), est(truthNs + ((i * 37) % 150) - 75, 200));
      holds(combined, truthNs);
      assert.equal(combined.reset, false);
    }
    const { frequency } = history.add(at(48), est(130 * 48_000, 200));
    assert.ok(frequency!.loPpm <= 130 && 130 <= frequency!.hiPpm && frequency!.hiPpm - frequency!.loPpm < 2.1);
  });

  it('resets to the newest check when no frequency fits (a step)', () => {
    const history = new OffsetHistory();
    for (let i = 0; i < 5; i += 1) history.add(at(i * 10), est(0, 1_000));
    // The slave stepped by 300 ms: no rate within the wander explains it.
    assert.deepEqual(history.add(at(50), est(300_000_000, 2_000, 11)), {
      offsetNs: 300_000_000,
      errorNs: 2_000,
      rttNs: 11,
      checks: 1,
      reset: true,
      frequency: undefined,
    });
    assert.equal(history.length, 1);
    const next = history.add(at(60), est(300_000_000, 2_000));
    assert.deepEqual([next.checks, next.reset], [2, false]);
  });

  it('restarts at a change of rate that its checks show, and measures the new rate', () => {
    const history = new OffsetHistory({ size: 4 });
    for (let i = 0; i <= 20; i++) history.add(at(i * 10), est(0, 1_000)); // flat for 200 s
    let last: Combined | undefined;
    const resets: number[] = [];
    for (let i = 1; i <= 10; i++) {
      last = history.add(at(200 + i * 10), est(i * 1_000_000, 1_000)); // then 100 ppm
      if (last.reset) resets.push(i);
    }
    assert.deepEqual(resets, [1]); // narrow checks show the change at once: 1 ms off the flat line
    assert.ok(last!.frequency!.loPpm <= 100 && 100 <= last!.frequency!.hiPpm && last!.frequency!.ppm > 99);
    assert.equal(last!.checks, 4);
  });

  it('combines at most `size` checks for the offset and keeps at most `capacity` for the frequency', () => {
    const history = new OffsetHistory({ size: 3, capacity: 6 });
    const checks = Array.from({ length: 20 }, (_, i) => history.add(at(i), est(0, 100)).checks);
    assert.deepEqual(checks.slice(0, 4), [1, 2, 3, 3]);
    assert.equal(history.length, 6);
  });

  it('thins the wider of the two closest older checks, so narrow checks keep bounding the frequency', () => {
    const history = new OffsetHistory({ size: 2, capacity: 4, wanderPpm: 0 });
    history.add(at(0), est(0, 10)); // narrow, oldest: it must stay
    history.add(at(100), est(0, 1_000_000)); // wide
    history.add(at(101), est(0, 500_000)); // its close neighbour, narrower
    history.add(at(200), est(0, 10));
    const combined = history.add(at(300), est(0, 10)); // 5 > 4: the wide one at 100 s goes
    assert.equal(history.length, 4);
    // The bound still spans 300 s of narrow checks: ±20 ns / 300 s.
    assert.ok(combined.frequency!.hiPpm < 0.07 && combined.frequency!.spanNs === 300 * NS_PER_S);
  });

  it('forgets checks older than the window', () => {
    const history = new OffsetHistory({ windowNs: 60 * NS_PER_S });
    for (let i = 0; i < 10; i++) history.add(at(i * 10), est(0, 100));
    assert.equal(history.length, 7); // 30 s to 90 s: the last minute
    assert.equal(history.add(at(100), est(0, 100)).frequency!.spanNs, 60 * NS_PER_S);
  });

  it('starts afresh on an instant older than the newest held', () => {
    const history = new OffsetHistory();
    history.add(at(10), est(0, 0));
    const combined = history.add(at(0), est(1_000_000, 0));
    assert.deepEqual([combined.offsetNs, combined.errorNs, combined.reset, combined.checks], [1_000_000, 0, true, 1]);
  });

  it('throws RangeError naming bad options and estimates', () => {
    assert.throws(() => new OffsetHistory({ size: 0 }), /size .* got 0/);
    assert.throws(() => new OffsetHistory({ size: 2.5 }), RangeError);
    assert.throws(() => new OffsetHistory({ size: 8, capacity: 9 }), /capacity .* got 9/);
    assert.throws(() => new OffsetHistory({ wanderPpm: -1 }), /wanderPpm .* got -1/);
    assert.throws(() => new OffsetHistory({ windowNs: 0 }), /windowNs/);
    assert.throws(() => new OffsetHistory().add(at(0), est(0, -1)), RangeError);
  });

  it('property: for any offset and any frequency (inside or far outside ±100 ppm) and any non-negative delays, the bound holds', () => {
    const checkArb = fc.record({
      gapMs: fc.oneof(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 100, max: 10_000 })),
      legs: fc.array(legArb, { minLength: 1, maxLength: 8 }),
    });
    fc.assert(
      fc.property(
        offsetArb,
        fc.oneof(fc.double({ min: -10_000, max: 10_000, noNaN: true }), fc.constantFrom(0, 50, 100, 130, -130, 5_000)),
        fc.record({ size: fc.integer({ min: 1, max: 10 }), extra: fc.integer({ min: 2, max: 20 }) }),
        fc.array(checkArb, { minLength: 1, maxLength: 40 }),
        resolutionArb,
        (startOffsetNs, truePpm, { size, extra }, checks, resolutionNs) => {
          const history = new OffsetHistory({ size, capacity: size + extra });
          for (const { at: now, truthNs, estimate: newest } of driftingChecks(
            startOffsetNs,
            truePpm,
            checks,
            resolutionNs,
          )) {
            const combined = history.add(now, newest);
            holds(combined, truthNs);
            // The history only narrows the newest check: its point never leaves it (but for the rounding to the ns).
            assert.ok(Math.abs(combined.offsetNs - newest.offsetNs) <= newest.errorNs + 0.5);
            // One rate throughout: the model holds, so nothing contradicts it.
            assert.equal(combined.reset, false);
            if (combined.frequency) {
              const slack = 1; // the truth is rounded to whole ns per check
              const { loPpm, hiPpm } = combined.frequency;
              assert.ok(
                loPpm - slack <= truePpm && truePpm <= hiPpm + slack,
                `${truePpm} ppm outside [${loPpm}, ${hiPpm}]`,
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a rate that wanders anywhere within the band keeps the truth inside the bound', () => {
    const stepArb = fc.record({
      gapS: fc.integer({ min: 1, max: 120 }),
      within: fc.double({ min: 0, max: 1, noNaN: true }),
      halfNs: fc.integer({ min: 0, max: 1_000_000 }),
      skew: fc.double({ min: -1, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.double({ min: -1_000, max: 1_000, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        (basePpm, wanderPpm, steps) => {
          const history = new OffsetHistory({ wanderPpm });
          let offsetNs = 0;
          let now = EPOCH_2023_NS;
          for (const step of steps) {
            now += BigInt(step.gapS) * S;
            offsetNs += ((basePpm + step.within * wanderPpm) * step.gapS * NS_PER_S) / 1e6;
            const combined = history.add(now, est(offsetNs + step.skew * step.halfNs, step.halfNs + 1e-3));
            holds(combined, offsetNs);
            assert.equal(combined.reset, false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a step larger than the carried history can explain shows at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(-1, 1),
        (before, errorNs, extraNs, sign) => {
          const history = new OffsetHistory({ wanderPpm: 1 });
          for (let i = 0; i < before; i += 1) history.add(at(i * 10), est(0, errorNs));
          // The checks so far prove a rate within ±(2 × error / 10 s + 1 ppm): over the next 10 s the
          // offset can move by 2 × error + 10 µs at most. Step past that, and past both intervals.
          const stepNs = sign * (4 * errorNs + 10_000 + extraNs);
          const combined = history.add(at(before * 10), est(stepNs, errorNs));
          assert.deepEqual([combined.offsetNs, combined.errorNs, combined.reset], [stepNs, errorNs, true]);
        },
      ),
    );
  });
});
