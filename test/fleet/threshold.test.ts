import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_REALERT_NS, ThresholdAlarm } from '../../src/fleet/threshold.js';

const MS = 1_000_000;
const MIN = 60_000_000_000n;
const T0 = 1_700_000_000_000_000_000n;

describe('ThresholdAlarm', () => {
  it('alerts once on crossing, again every realert while over, once on recovery', () => {
    const alarm = new ThresholdAlarm({ thresholdNs: 100 * MS });
    const events = [
      alarm.evaluate(T0, 5 * MS, 1 * MS), // under
      alarm.evaluate(T0 + 1n * MIN, 300 * MS, 1 * MS), // crosses
      alarm.evaluate(T0 + 2n * MIN, 300 * MS, 1 * MS),
      alarm.evaluate(T0 + 10n * MIN, 300 * MS, 1 * MS), // 9 min after drift
      alarm.evaluate(T0 + 11n * MIN, -300 * MS, 1 * MS), // 10 min after drift
      alarm.evaluate(T0 + 20n * MIN, 300 * MS, 1 * MS), // 9 min after realert
      alarm.evaluate(T0 + 21n * MIN, 300 * MS, 1 * MS),
      alarm.evaluate(T0 + 22n * MIN, 0, 1 * MS), // back under
      alarm.evaluate(T0 + 23n * MIN, 0, 1 * MS),
      alarm.evaluate(T0 + 24n * MIN, 300 * MS, 1 * MS), // crosses again
    ];
    assert.deepEqual(events, [
      undefined,
      'drift',
      undefined,
      undefined,
      'realert',
      undefined,
      'realert',
      'recovered',
      undefined,
      'drift',
    ]);
  });

  it('subtracts the error bound: a noisy link alone never alarms', () => {
    const alarm = new ThresholdAlarm({ thresholdNs: 100 * MS });
    assert.equal(alarm.evaluate(T0, 150 * MS, 60 * MS), undefined); // could be 90 ms
    assert.equal(alarm.evaluate(T0, -150 * MS, 60 * MS), undefined);
    assert.equal(alarm.evaluate(T0, -150 * MS, 40 * MS), 'drift'); // at least 110 ms behind
    assert.equal(alarm.over, true);
  });

  it('is not over exactly at the threshold', () => {
    const alarm = new ThresholdAlarm({ thresholdNs: 100 });
    assert.equal(alarm.isOver(150, 50), false);
    assert.equal(alarm.isOver(150.5, 50), true);
    assert.equal(alarm.isOver(-150.5, 50), true);
  });

  it('defaults realert to 10 minutes; Infinity never realerts; 0 realerts on every evaluation', () => {
    assert.equal(new ThresholdAlarm({ thresholdNs: 1 }).realertNs, DEFAULT_REALERT_NS);
    assert.equal(DEFAULT_REALERT_NS, 600e9);
    const never = new ThresholdAlarm({ thresholdNs: 1, realertNs: Infinity });
    assert.equal(never.evaluate(T0, 10, 0), 'drift');
    assert.equal(never.evaluate(T0 + 1000n * MIN, 10, 0), undefined);
    const always = new ThresholdAlarm({ thresholdNs: 1, realertNs: 0 });
    assert.deepEqual([always.evaluate(T0, 10, 0), always.evaluate(T0, 10, 0)], ['drift', 'realert']);
  });

  it('does not realert when `at` goes backwards', () => {
    const alarm = new ThresholdAlarm({ thresholdNs: 1, realertNs: 1000 });
    assert.equal(alarm.evaluate(T0, 10, 0), 'drift');
    assert.equal(alarm.evaluate(T0 - 5000n, 10, 0), undefined);
    assert.equal(alarm.evaluate(T0 + 1000n, 10, 0), 'realert');
  });

  it('throws RangeError naming bad options and inputs', () => {
    assert.throws(() => new ThresholdAlarm({ thresholdNs: -1 }), /thresholdNs .* got -1/);
    assert.throws(() => new ThresholdAlarm({ thresholdNs: Number.NaN }), RangeError);
    assert.throws(() => new ThresholdAlarm({ thresholdNs: Infinity }), RangeError);
    assert.throws(() => new ThresholdAlarm({ thresholdNs: 1, realertNs: -5 }), /realertNs .* got -5/);
    const alarm = new ThresholdAlarm({ thresholdNs: 1 });
    assert.throws(() => alarm.evaluate(T0, Number.NaN, 0), RangeError);
    assert.throws(() => alarm.evaluate(T0, 0, -1), RangeError);
  });

  it('property: events follow the rule on any sequence of estimates', () => {
    const stepArb = fc.record({
      advanceNs: fc.integer({ min: 0, max: 5_000 }),
      offsetNs: fc.integer({ min: -3_000, max: 3_000 }),
      errorNs: fc.integer({ min: 0, max: 1_000 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(stepArb, { maxLength: 60 }),
        (thresholdNs, realertNs, steps) => {
          const alarm = new ThresholdAlarm({ thresholdNs, realertNs });
          let now = T0;
          let wasOver = false;
          let lastAlertAt = 0n;
          for (const step of steps) {
            now += BigInt(step.advanceNs);
            const isOver = Math.abs(step.offsetNs) - step.errorNs > thresholdNs;
            const event = alarm.evaluate(now, step.offsetNs, step.errorNs);
            let expected: string | undefined;
            if (isOver && !wasOver) expected = 'drift';
            else if (!isOver && wasOver) expected = 'recovered';
            else if (isOver && now - lastAlertAt >= BigInt(realertNs)) expected = 'realert';
            assert.equal(event, expected);
            if (event === 'drift' || event === 'realert') lastAlertAt = now;
            wasOver = isOver;
            assert.equal(alarm.over, isOver);
          }
        },
      ),
    );
  });
});
