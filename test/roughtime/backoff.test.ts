import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from '../../src/roughtime/backoff.js';

test('1 s × 1.5^(n-1), capped at 24 h', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n)), [1000, 1500, 2250, 3375]);
  assert.equal(retryDelayMs(100), 24 * 3600 * 1000);
  assert.equal(retryDelayMs(3, { initialMs: 10, factor: 2, maxMs: 30 }), 30);
  assert.throws(() => retryDelayMs(0), RangeError);
});
