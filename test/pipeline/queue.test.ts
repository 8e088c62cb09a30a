import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DropOldestQueue } from '../../src/pipeline/queue.js';

test('a full queue drops its oldest item and counts it', () => {
  const queue = new DropOldestQueue<number>(3);
  for (const n of [1, 2, 3]) assert.equal(queue.push(n), 0);
  assert.equal(queue.push(4), 1);
  assert.equal(queue.push(5), 1);
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

test('capacity must be a positive integer, the byte capacity positive', () => {
  assert.throws(() => new DropOldestQueue(0), RangeError);
  assert.throws(() => new DropOldestQueue(1.5), RangeError);
  assert.throws(() => new DropOldestQueue(4, 0), RangeError);
});

test('the byte bound: heavy items push out as many old ones as they need; one heavier than the queue is refused', () => {
  const queue = new DropOldestQueue<Uint8Array>(100, 3000, (item) => item.byteLength);
  for (let i = 0; i < 3; i++) assert.equal(queue.push(new Uint8Array(1000)), 0);
  assert.equal(queue.bytes, 3000);
  assert.equal(queue.push(new Uint8Array(2000)), 2);
  assert.equal(queue.length, 2);
  assert.equal(queue.bytes, 3000);
  assert.equal(queue.push(new Uint8Array(65_000)), 1, 'refused, counted');
  assert.equal(queue.length, 2, 'and nothing evicted for it');
  assert.equal(queue.dropped, 3);
  assert.deepEqual(
    queue.take(5).map((item) => item.byteLength),
    [1000, 2000],
  );
  assert.equal(queue.bytes, 0);
});
