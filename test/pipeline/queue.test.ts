import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DropOldestQueue } from '../../src/pipeline/queue.js';

test('a full queue drops its oldest item and counts it', () => {
  const queue = new DropOldestQueue<number>(3);
  for (const n of [1, 2, 3]) assert.equal(queue.push(n), undefined);
  assert.equal(queue.push(4), 1);
  assert.equal(queue.push(5), 2);
  assert.equal(queue.dropped, 2);
  assert.equal(queue.length, 3);
  assert.deepEqual(queue.take(10), [3, 4, 5]);
  assert.equal(queue.length, 0);
  assert.equal(queue.shift(), undefined);
});

test('take removes the oldest items in order across the ring boundary', () => {
  const queue = new DropOldestQueue<number>(4);
  for (let n = 0; n < 10; n++) queue.push(n);
  assert.equal(queue.peek(), 6);
  assert.deepEqual(queue.take(2), [6, 7]);
  queue.push(10);
  assert.deepEqual(queue.take(5), [8, 9, 10]);
});

test('capacity must be a positive integer', () => {
  assert.throws(() => new DropOldestQueue(0), RangeError);
  assert.throws(() => new DropOldestQueue(1.5), RangeError);
});
