import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Frequency } from '../../src/estimate/frequency.js';
import {
  DEFAULT_MAX_DRIFT_PPM,
  DEFAULT_PREDICT_NS,
  DriftRateAlarm,
  type DriftRule,
  aboutText,
  assessDrift,
  crossingInNs,
  driftText,
  ppmText,
} from '../../src/fleet/drift-rate.js';
import { DEFAULT_REALERT_NS } from '../../src/fleet/threshold.js';

const MS = 1_000_000;
const S = 1e9;
const MIN = 60_000_000_000n;
const T0 = 1_700_000_000_000_000_000n;
const freq = (loPpm: number, hiPpm: number): Frequency => ({
  ppm: (loPpm + hiPpm) / 2,
  loPpm,
  hiPpm,
  spanNs: 60 * S,
  intervals: 6,
});
const RULE: DriftRule = { thresholdNs: 100 * MS, maxDriftPpm: 500, predictNs: 600 * S };

describe('assessDrift', () => {
  it('is too fast only when the whole frequency bound is beyond ±maxDriftPpm', () => {
    assert.equal(assessDrift(0, 0, freq(501, 600), RULE).tooFast, true);
    assert.equal(assessDrift(0, 0, freq(-600, -501), RULE).tooFast, true);
    assert.equal(assessDrift(0, 0, freq(499, 700), RULE).tooFast, false); // could be 499 ppm
    assert.equal(assessDrift(0, 0, freq(500, 700), RULE).tooFast, false); // at the limit is not over it
  });

  it('predicts from the slowest proven rate and the edge of the bound nearest the threshold', () => {
    // 0 ± 1 ms at 900..1100 ppm: the lower edge (−1 ms) reaches 100 ms after 101 ms / 900 ppm = 112 s at the latest.
    assert.equal(assessDrift(0, 1 * MS, freq(900, 1100), RULE).crossesSoon, true);
    assert.equal(assessDrift(0, 1 * MS, freq(900, 1100), { ...RULE, predictNs: 112 * S }).crossesSoon, false);
    assert.equal(assessDrift(0, 1 * MS, freq(900, 1100), { ...RULE, predictNs: 113 * S }).crossesSoon, true);
    // The mirror image: −1000 ppm heads for −100 ms.
    assert.equal(assessDrift(0, 1 * MS, freq(-1100, -900), { ...RULE, predictNs: 113 * S }).crossesSoon, true);
    assert.equal(assessDrift(0, 1 * MS, freq(-1100, -900), { ...RULE, predictNs: 112 * S }).crossesSoon, false);
  });

  it('predicts nothing when the bound holds 0, or when prediction is off', () => {
    assert.equal(assessDrift(99 * MS, 0, freq(-0.1, 400), RULE).crossesSoon, false);
    assert.equal(assessDrift(0, 0, freq(900, 1100), { ...RULE, predictNs: 0 }).crossesSoon, false);
  });

  it('a node already over and drifting further stays "crossing"; one over but steady does not', () => {
    assert.equal(assessDrift(750 * MS, 1 * MS, freq(0.5, 0.7), RULE).crossesSoon, true);
    assert.equal(assessDrift(750 * MS, 1 * MS, freq(-0.1, 0.1), RULE).crossesSoon, false);
    // Heading back toward 0 from +750 ms at a proven −20 ppm: it would cross −100 ms in about 12 h.
    assert.equal(assessDrift(750 * MS, 1 * MS, freq(-21, -19), RULE).crossesSoon, false);
  });

  it('crossingInNs: when the point reaches the threshold it heads for', () => {
    assert.equal(crossingInNs(10 * MS, 5000, 100 * MS), 18 * S);
    assert.equal(crossingInNs(10 * MS, -5000, 100 * MS), 22 * S);
    assert.equal(crossingInNs(150 * MS, 5000, 100 * MS), -10 * S);
    assert.equal(crossingInNs(0, 0, 100 * MS), Infinity);
  });
});

describe('DriftRateAlarm', () => {
  it('raises once, again every realert while it lasts, once on recovery', () => {
    const alarm = new DriftRateAlarm({ thresholdNs: 100 * MS });
    const fast = freq(990, 1010);
    const slow = freq(-1, 1);
    const events = [
      alarm.evaluate(T0, 0, 1 * MS, slow),
      alarm.evaluate(T0 + 1n * MIN, 0, 1 * MS, fast), // raised
      alarm.evaluate(T0 + 2n * MIN, 0, 1 * MS, fast),
      alarm.evaluate(T0 + 10n * MIN, 0, 1 * MS, fast), // 9 min after
      alarm.evaluate(T0 + 11n * MIN, 0, 1 * MS, fast), // 10 min after
      alarm.evaluate(T0 + 12n * MIN, 0, 1 * MS, slow), // recovered
      alarm.evaluate(T0 + 13n * MIN, 0, 1 * MS, slow),
      alarm.evaluate(T0 + 14n * MIN, 0, 1 * MS, fast), // raised again
    ];
    assert.deepEqual(events, [
      undefined,
      'drift_rate',
      undefined,
      undefined,
      'realert',
      'recovered',
      undefined,
      'drift_rate',
    ]);
  });

  it('keeps its state while the frequency is unknown (a first check, a reset after a step)', () => {
    const alarm = new DriftRateAlarm({ thresholdNs: 100 * MS });
    assert.equal(alarm.evaluate(T0, 0, 1 * MS, undefined), undefined);
    assert.equal(alarm.raised, false);
    assert.equal(alarm.evaluate(T0, 0, 1 * MS, freq(600, 700)), 'drift_rate');
    assert.equal(alarm.evaluate(T0 + 1n * MIN, 0, 1 * MS, undefined), undefined);
    assert.equal(alarm.raised, true);
  });

  it('raises on a slow rate that will cross soon, and on a fast one that will not', () => {
    const soon = new DriftRateAlarm({ thresholdNs: 100 * MS, predictNs: 10 * 60 * S });
    assert.equal(soon.evaluate(T0, 90 * MS, 1 * MS, freq(20, 22)), 'drift_rate'); // 11 ms at ≥ 20 ppm: 9.2 min
    const far = new DriftRateAlarm({ thresholdNs: 100 * MS, predictNs: 0 });
    assert.equal(far.evaluate(T0, -90 * MS, 1 * MS, freq(600, 700)), 'drift_rate'); // too fast, heading back
  });

  it('does not realert while the clock runs backwards', () => {
    const alarm = new DriftRateAlarm({ thresholdNs: 100 * MS, realertNs: 1000 });
    assert.equal(alarm.evaluate(T0, 0, 0, freq(600, 700)), 'drift_rate');
    assert.equal(alarm.evaluate(T0 - 5000n, 0, 0, freq(600, 700)), undefined);
    assert.equal(alarm.evaluate(T0 + 1000n, 0, 0, freq(600, 700)), 'realert');
  });

  it('has documented defaults and throws RangeError naming a bad option or estimate', () => {
    const alarm = new DriftRateAlarm({ thresholdNs: 1 });
    assert.deepEqual(
      [alarm.rule.maxDriftPpm, alarm.rule.predictNs, alarm.realertNs],
      [500, 600 * S, DEFAULT_REALERT_NS],
    );
    assert.deepEqual([DEFAULT_MAX_DRIFT_PPM, DEFAULT_PREDICT_NS], [500, 600 * S]);
    assert.throws(() => new DriftRateAlarm({ thresholdNs: -1 }), /thresholdNs .* got -1/);
    assert.throws(() => new DriftRateAlarm({ thresholdNs: 1, maxDriftPpm: 0 }), /maxDriftPpm .* got 0/);
    assert.throws(() => new DriftRateAlarm({ thresholdNs: 1, predictNs: -1 }), /predictNs .* got -1/);
    assert.throws(() => new DriftRateAlarm({ thresholdNs: 1, realertNs: Number.NaN }), /realertNs/);
    assert.throws(() => alarm.evaluate(T0, 0, -1, undefined), RangeError);
  });

  it('property: never raised while the bound holds a rate that is neither too fast nor heading over the threshold soon', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -400, max: 400, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: -50 * MS, max: 50 * MS, noNaN: true }),
        (ppm, halfPpm, offsetNs) => {
          // A bound around 0 or a rate that needs more than 10 min to cover the 50 ms to the threshold.
          const f = freq(Math.min(ppm, 0) - halfPpm, Math.max(ppm, 0) + halfPpm);
          const alarm = new DriftRateAlarm({ thresholdNs: 100 * MS, predictNs: 60 * S });
          assert.equal(alarm.evaluate(T0, offsetNs, 0, f), undefined);
        },
      ),
    );
  });
});

describe('the words of a drift-rate alert', () => {
  it('reads like the issue: "drifts +5,000 ppm ± 2 ppm, over 100 ms in about 18 s"', () => {
    assert.equal(
      driftText(10 * MS, freq(4998, 5002), 100 * MS),
      'drifts +5,000 ppm ± 2 ppm, over 100 ms in about 18 s',
    );
    assert.equal(
      driftText(-10 * MS, freq(-1001, -999), 100 * MS),
      'drifts −1,000 ppm ± 1 ppm, under −100 ms in about 90 s',
    );
    assert.equal(driftText(150 * MS, freq(599, 601), 100 * MS), 'drifts +600 ppm ± 1 ppm, over 100 ms already');
  });

  it('ppmText and aboutText', () => {
    assert.deepEqual(
      [ppmText(5012.3), ppmText(-12.34), ppmText(0.5123), ppmText(0)],
      ['+5,010 ppm', '−12.3 ppm', '+0.512 ppm', '0 ppm'],
    );
    assert.deepEqual(
      [
        aboutText(0.2 * S),
        aboutText(18 * S),
        aboutText(170 * S),
        aboutText(45 * 60 * S),
        aboutText(7200 * S),
        aboutText(3 * 86400 * S),
      ],
      ['1 s', '18 s', '2.8 min', '45 min', '2.0 h', '3.0 d'],
    );
  });
});
