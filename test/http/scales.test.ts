import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { linearScale, niceStep, offsetLabel, symlogScale, timeTicks } from '../../src/http/scales.js';

test('linear ticks are round (1, 2, 5 × 10^k), cover the data and include zero when it is in range', () => {
  assert.deepEqual(linearScale(-0.3e6, 0.8e6).ticks, [-500000, 0, 500000, 1000000]);
  assert.deepEqual(
    linearScale(749_900_000, 750_100_000).ticks,
    [749900000, 749950000, 750000000, 750050000, 750100000],
  );
  assert.equal(niceStep(117, 4), 50);
  fc.assert(
    fc.property(fc.integer({ min: -1e10, max: 1e10 }), fc.integer({ min: 1, max: 1e10 }), (lo, span) => {
      const scale = linearScale(lo, lo + span);
      assert.ok(scale.lo <= lo && scale.hi >= lo + span);
      assert.ok(scale.ticks.length >= 2 && scale.ticks.length <= 12, `${scale.ticks.length} ticks`);
      if (scale.lo <= 0 && scale.hi >= 0) assert.ok(scale.ticks.includes(0));
      for (const v of [scale.lo, lo, lo + span, scale.hi]) {
        const p = scale.position(v);
        assert.ok(p >= -1e-9 && p <= 1 + 1e-9);
      }
    }),
  );
});

test('the symmetric-log axis puts 10 µs and 750 ms on one readable scale, zero in the middle of the ticks', () => {
  const scale = symlogScale(-20e3, 750e6, 10e3);
  assert.ok(scale.ticks.includes(0));
  assert.ok(scale.ticks.includes(10e3) && scale.ticks.includes(1e9) && scale.ticks.includes(-10e3));
  // 20 µs and 750 ms are both well away from zero and from each other.
  const zero = scale.position(0);
  assert.ok(scale.position(20e3) - zero > 0.05);
  assert.ok(scale.position(750e6) - scale.position(1e6) > 0.2);
  // Monotonic.
  const values = [-20e3, -1e3, 0, 1e3, 1e5, 1e7, 7.5e8];
  const positions = values.map((v) => scale.position(v));
  for (let i = 1; i < positions.length; i++) assert.ok(positions[i]! > positions[i - 1]!);
});

test('time ticks are round spans before now, labelled as such', () => {
  const labels = (spanNs: number) => timeTicks(spanNs).map((t) => t.label);
  assert.deepEqual(labels(117e9), ['now', '−30 s', '−60 s', '−90 s']);
  assert.deepEqual(labels(3600e9), ['now', '−10 min', '−20 min', '−30 min', '−40 min', '−50 min', '−60 min']);
  assert.deepEqual(labels(10e9), ['now', '−2 s', '−4 s', '−6 s', '−8 s', '−10 s']);
  assert.deepEqual(labels(6 * 3600e9), ['now', '−1 h', '−2 h', '−3 h', '−4 h', '−5 h', '−6 h']);
  assert.deepEqual(
    timeTicks(117e9).map((t) => t.beforeNowNs),
    [0, 30e9, 60e9, 90e9],
  );
});

test('tick labels keep enough decimals to differ', () => {
  const scale = linearScale(749_900_000, 750_100_000);
  const labels = scale.ticks.map((t) => offsetLabel(t, scale.step));
  assert.deepEqual(labels, ['+749.90 ms', '+749.95 ms', '+750.00 ms', '+750.05 ms', '+750.10 ms']);
  assert.equal(new Set(labels).size, labels.length);
  assert.deepEqual(
    linearScale(-400e3, 400e3).ticks.map((t) => offsetLabel(t, 200e3)),
    ['−400 µs', '−200 µs', '0', '+200 µs', '+400 µs'],
  );
});

test('offsets print in the unit that reads best', () => {
  assert.deepEqual(
    [0, 20e3, -1.5e6, 750e6, 2e9, -500].map((v) => offsetLabel(v)),
    ['0', '+20 µs', '−1.5 ms', '+750 ms', '+2 s', '−500 ns'],
  );
});
