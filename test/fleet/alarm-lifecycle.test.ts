import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlarmLifecycle } from '../../src/fleet/alarm-lifecycle.js';

const MIN = 60_000_000_000n;

test('raise once, realert every interval while it holds, clear once; steps on monotonic instants', () => {
  const alarm = new AlarmLifecycle(10 * 60e9);
  const steps = [
    alarm.step(0n, false),
    alarm.step(1n * MIN, true),
    alarm.step(10n * MIN, true), // 9 min after
    alarm.step(11n * MIN, true), // 10 min after
    alarm.step(12n * MIN, false),
    alarm.step(13n * MIN, false),
  ];
  assert.deepEqual(steps, [undefined, 'raise', undefined, 'realert', 'clear', undefined]);
  assert.equal(alarm.raised, false);
});

test('a clock going backwards delays the realert; Infinity never realerts; a bad interval is a RangeError', () => {
  const alarm = new AlarmLifecycle(1000);
  assert.equal(alarm.step(5000n, true), 'raise');
  assert.equal(alarm.step(0n, true), undefined);
  assert.equal(alarm.step(6000n, true), 'realert');
  const never = new AlarmLifecycle(Infinity);
  never.step(0n, true);
  assert.equal(never.step(1000n * MIN, true), undefined);
  assert.throws(() => new AlarmLifecycle(-1), /realertNs must be >= 0, got -1/);
  assert.throws(() => new AlarmLifecycle(Number.NaN), RangeError);
});
