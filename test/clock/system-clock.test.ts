import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import type { OsTime } from '../../src/clock/os-time.js';
import { SystemClock, measureAnchorWithSpread } from '../../src/clock/system-clock.js';

const WALL0 = 1_700_000_000_000_000_000n;

/**
 * A scripted operating system: monotonic time advances `tickNs` per read; the true wall time is
 * monotonic + `wallMinusMonoNs` (a step of the system clock changes it); `preemptNextRealtimeNs`
 * delays the next realtime read as if the process had been descheduled between two reads.
 */
class ScriptedOs implements OsTime {
  monoNs = 10_000_000_000n;
  wallMinusMonoNs = WALL0;
  tickNs = 250n;
  preemptNextRealtimeNs = 0n;

  monotonicNs(): bigint {
    this.monoNs += this.tickNs;
    return this.monoNs;
  }

  realtimeMs(): number {
    this.monoNs += this.preemptNextRealtimeNs;
    this.preemptNextRealtimeNs = 0n;
    return Number((this.monoNs + this.wallMinusMonoNs) / 1_000_000n);
  }

  schedule(): () => void {
    throw new Error('not used here');
  }
}

test('readings are "realtime anchor + monotonic" to within a microsecond, with sub-millisecond steps', () => {
  const os = new ScriptedOs();
  const clock = new SystemClock({ os });
  const seen = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const { wall, mono } = clock.read();
    const truth = mono + os.wallMinusMonoNs;
    assert.ok(wall - truth < 2_000n && truth - wall < 2_000n, `reading ${wall} vs true ${truth}`);
    seen.add(wall % 1_000_000n);
  }
  assert.ok(seen.size > 100, `only ${seen.size} distinct sub-ms values`);
  assert.equal(clock.stepCount, 0);
  assert.ok(clock.resolutionNs >= 1_000 && clock.resolutionNs < 10_000, `resolution ${clock.resolutionNs}`);
});

test('a step of the system clock is counted and the clock re-anchors; monotonic time does not move', () => {
  const os = new ScriptedOs();
  const clock = new SystemClock({ os });
  const before = clock.read();
  os.wallMinusMonoNs += 1_000_000_000n; // the system clock is set 1 s ahead
  const after = clock.read();
  assert.equal(clock.stepCount, 1);
  const jump = after.wall - after.mono - (before.wall - before.mono);
  assert.ok(jump > 999_998_000n && jump < 1_000_002_000n, `wall minus monotonic moved by ${jump} ns, not 1 s`);
  assert.ok(after.mono - before.mono < 20_000_000n, 'monotonic time only moved by the re-anchoring');
  const truth = after.mono + os.wallMinusMonoNs;
  assert.ok(after.wall - truth < 2_000n && truth - after.wall < 2_000n);
  assert.ok(Math.abs(clock.lastStepNs - 1e9) < 2_000, `the step's size: ${clock.lastStepNs} ns`);
  // Backwards too.
  os.wallMinusMonoNs -= 5_000_000_000n;
  clock.now();
  assert.equal(clock.stepCount, 2);
  assert.ok(Math.abs(clock.lastStepNs + 5e9) < 2_000, `the step's size: ${clock.lastStepNs} ns`);
});

test('a master stepped ±500 ms five times: five steps, each its size, none in between', () => {
  const os = new ScriptedOs();
  const clock = new SystemClock({ os });
  const sizes: number[] = [];
  for (let i = 0; i < 5; i++) {
    for (let read = 0; read < 100; read++) clock.read();
    os.wallMinusMonoNs += i % 2 === 0 ? 500_000_000n : -500_000_000n;
    for (let read = 0; read < 100; read++) clock.read();
    sizes.push(Math.round(clock.lastStepNs / 1e6));
  }
  assert.equal(clock.stepCount, 5);
  assert.deepEqual(sizes, [500, -500, 500, -500, 500]);
});

test('preemption between the two reads is not a step (a tight re-read clears it)', () => {
  const os = new ScriptedOs();
  const clock = new SystemClock({ os });
  os.preemptNextRealtimeNs = 30_000_000n; // 30 ms pass between the monotonic and the realtime read
  clock.now();
  assert.equal(clock.stepCount, 0);
});

test('--clock-offset shifts every wall reading by exactly the offset, not monotonic time', () => {
  const os = new ScriptedOs();
  const plain = new SystemClock({ os });
  const shifted = new SystemClock({ os, offsetNs: 750e6 });
  const a = plain.read();
  const b = shifted.read();
  assert.ok(Math.abs(Number(b.wall - a.wall) - 750e6 - Number(b.mono - a.mono)) < 2_000);
  assert.throws(() => new SystemClock({ offsetNs: Number.NaN }), RangeError);
});

test('the drift testing aid runs the wall clock that many ppm fast from its instant on, never tripping the step check', () => {
  const os = new ScriptedOs();
  const since = os.monoNs;
  const clock = new SystemClock({ os, drift: { ppm: -500, sinceMono: since } });
  os.tickNs = 1_000_000n; // 1 ms a read: 10 s of readings below
  for (let i = 0; i < 10_000; i++) {
    const { wall, mono } = clock.read();
    const expected = mono + os.wallMinusMonoNs - ((mono - since) * 500n) / 1_000_000n;
    assert.ok(wall - expected < 2_000n && expected - wall < 2_000n, `reading ${wall} vs ${expected}`);
  }
  assert.equal(clock.stepCount, 0, '5 ms of drift is not a step');
  assert.throws(
    () => new SystemClock({ drift: { ppm: Number.POSITIVE_INFINITY, sinceMono: 0n } }),
    /drift .* Infinity/,
  );
});

test('on the real OS: the clock agrees with Date.now() and two anchors agree to well under a millisecond', () => {
  const clock = new SystemClock();
  for (let i = 0; i < 200; i++) {
    const before = BigInt(Date.now()) * 1_000_000n;
    const now = clock.now();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    assert.ok(now >= before - 1_000_000n && now <= after + 1_000_000n, `reading ${now} outside [${before}, ${after}]`);
  }
  const a = measureAnchorWithSpread(7).anchorNs;
  const b = measureAnchorWithSpread(7).anchorNs;
  assert.ok((a > b ? a - b : b - a) < 500_000n, `anchors differ by ${a - b} ns`);
});

test('the simulated clock: time moves only when told, timers run in order at their instant, steps move the wall only', () => {
  const clock = new SimClock(1000n);
  const fired: string[] = [];
  clock.setTimer(20, () => fired.push(`b@${clock.monotonic()}`));
  clock.setTimer(10, () => {
    fired.push(`a@${clock.monotonic()}`);
    clock.setTimer(5, () => fired.push(`c@${clock.monotonic()}`));
  });
  const cancelled = clock.setTimer(12, () => fired.push('never'));
  cancelled.cancel();
  assert.equal(clock.now(), 1000n);
  clock.advance(9);
  assert.deepEqual(fired, []);
  clock.advance(30);
  assert.deepEqual(fired, ['a@10', 'c@15', 'b@20']);
  assert.deepEqual(clock.read(), { wall: 1039n, mono: 39n });
  clock.step(-100);
  assert.deepEqual(clock.read(), { wall: 939n, mono: 39n });
  assert.equal(clock.stepCount, 1);
  assert.equal(clock.pendingTimers, 0);
  assert.throws(() => clock.advance(-1), RangeError);
});
