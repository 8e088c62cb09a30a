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

test('instants are kept to the millisecond, across a move of the base (points 26 days apart) and a wall clock stepped back', () => {
  const day = 86_400;
  const series = new OffsetSeries({ windowNs: 20 * day * 1e9 });
  series.add(point(0));
  series.add({ at: T0 + 1_234_567n, offsetNs: 1, errorNs: 1 }); // 1.234567 ms: kept as 1 ms
  assert.deepEqual(
    series.points(0n).map((p) => p.at - T0),
    [0n, 1_000_000n],
  );
  series.add(point(20 * day));
  series.add(point(26 * day)); // beyond int32 ms of the first point: the base moves
  series.add(point(26 * day - 3600)); // the wall clock stepped back an hour
  assert.deepEqual(
    series.points(0n).map((p) => Number((p.at - T0) / S)),
    [20 * day, 26 * day, 26 * day - 3600],
  );
  assert.throws(() => new OffsetSeries({ windowNs: 30 * day * 1e9 }), /windowNs/);
});

test('12 bytes a point: an hour at a 10 s interval fits in 380 slots', () => {
  const series = new OffsetSeries();
  for (let s = 0; s <= 7200; s += 10) series.add(point(s));
  assert.equal(series.allocated, 380);
});
