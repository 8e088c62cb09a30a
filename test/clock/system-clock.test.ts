import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import { SystemClock, measureAnchor } from '../../src/clock/system-clock.js';

test('the system clock agrees with Date.now() and has sub-millisecond resolution', () => {
  const clock = new SystemClock();
  const readings = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const before = BigInt(Date.now()) * 1_000_000n;
    const now = clock.now();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    assert.ok(now >= before - 1_000_000n && now <= after + 1_000_000n, `reading ${now} outside [${before}, ${after}]`);
    readings.add(now % 1_000_000n);
  }
  // Date.now() alone would give one sub-millisecond value (0); the anchored clock gives many.
  assert.ok(readings.size > 10, `only ${readings.size} distinct sub-ms values`);
  assert.equal(clock.stepCount, 0);
});

test('the anchor is stable: two measurements agree to well under a millisecond', () => {
  const a = measureAnchor(7);
  const b = measureAnchor(7);
  const diff = a > b ? a - b : b - a;
  assert.ok(diff < 500_000n, `anchors differ by ${diff} ns`);
});

test('--clock-offset shifts every reading by exactly the offset', () => {
  const plain = new SystemClock();
  const shifted = new SystemClock({ offsetNs: 750e6 });
  const diff = Number(shifted.now() - plain.now()) / 1e6;
  assert.ok(Math.abs(diff - 750) < 5, `diff ${diff} ms`);
  assert.throws(() => new SystemClock({ offsetNs: Number.NaN }), RangeError);
});

test('a disagreement with the system clock counts as a step and re-anchors', () => {
  const clock = new SystemClock();
  // Simulate a step of the system clock by corrupting the anchor by 1 s.
  (clock as unknown as { anchorNs: bigint }).anchorNs -= 1_000_000_000n;
  const now = clock.now();
  assert.equal(clock.stepCount, 1);
  assert.ok(Math.abs(Number(now / 1_000_000n) - Date.now()) < 5);
});

test('the simulated clock moves only when told, and counts steps', () => {
  const clock = new SimClock(1000n);
  assert.equal(clock.now(), 1000n);
  clock.advance(5);
  assert.equal(clock.now(), 1005n);
  clock.step(-100);
  assert.equal(clock.now(), 905n);
  assert.equal(clock.stepCount, 1);
});

test("the declared resolution covers the anchor's own uncertainty, and is at least 1 µs", () => {
  const clock = new SystemClock();
  assert.ok(clock.resolutionNs >= 1_000);
  assert.ok(clock.resolutionNs < 5_000_000, `resolution ${clock.resolutionNs} ns`);
});
