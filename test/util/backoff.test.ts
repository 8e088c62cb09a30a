import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from '../../src/util/backoff.js';

test('1 s × 1.5^(n-1), capped at 24 h', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelayMs(n)),
    [1000, 1500, 2250, 3375],
  );
  assert.equal(retryDelayMs(100), 24 * 3600 * 1000);
  assert.equal(retryDelayMs(3, { initialMs: 10, factor: 2, maxMs: 30 }), 30);
  assert.throws(() => retryDelayMs(0), RangeError);
});

test('jitter takes away at most its fraction of the delay', () => {
  const options = { initialMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.5 };
  assert.equal(retryDelayMs(2, { ...options, random: () => 0 }), 2000);
  assert.equal(retryDelayMs(2, { ...options, random: () => 0.5 }), 1500);
  assert.ok(retryDelayMs(2, { ...options, random: () => 0.999999 }) > 1000);
  for (let i = 0; i < 200; i++) {
    const d = retryDelayMs(10, options);
    assert.ok(d > 30_000 && d <= 60_000, `delay ${d}`);
  }
  assert.throws(() => retryDelayMs(1, { jitter: 2 }), RangeError);
});
