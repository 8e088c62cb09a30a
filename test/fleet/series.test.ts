import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetSeries } from '../../src/fleet/series.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const point = (second: number, offsetNs = second * 1000) => ({
  at: T0 + BigInt(second) * S,
  offsetNs,
  errorNs: 500,
});

test('an hour of checks 10 s apart: every point kept in order, the oldest dropped by the window, the ring sized close to them', () => {
  const series = new OffsetSeries();
  for (let s = 0; s <= 7200; s += 10) series.add(point(s));
  const points = series.points(0n);
  // The window is an hour before the newest point: 3600 s .. 7200 s, 361 points.
  assert.equal(points.length, 361);
  assert.deepEqual(
    points.map((p) => Number((p.at - T0) / S)),
    Array.from({ length: 361 }, (_, i) => 3600 + 10 * i),
  );
  assert.equal(points[0]!.offsetNs, 3_600_000);
  assert.equal(points[0]!.errorNs, 500);
  assert.ok(series.allocated >= 361 && series.allocated <= Math.ceil(361 * 1.25), `${series.allocated} slots`);
});

test('at capacity the oldest point goes, whatever the window', () => {
  const series = new OffsetSeries({ capacity: 50 });
  for (let s = 0; s < 120; s++) series.add(point(s));
  const points = series.points(0n);
  assert.equal(series.allocated, 50);
  assert.deepEqual(
    points.map((p) => Number((p.at - T0) / S)),
    Array.from({ length: 50 }, (_, i) => 70 + i),
  );
});

test('points(since) leaves out the older ones', () => {
  const series = new OffsetSeries();
  for (let s = 0; s < 100; s++) series.add(point(s));
  assert.equal(series.points(T0 + 90n * S).length, 10);
});
