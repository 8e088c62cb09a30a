import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBatchPolicy, decideBatch } from '../../src/pipeline/batcher.js';

const policy = { maxBatch: 4, flushMs: 5 };
const state = { queued: 0, freeSlots: 1, timerExpired: false, draining: false };

test('a full batch leaves at once, a partial one waits for the timer', () => {
  assert.deepEqual(decideBatch(policy, { ...state, queued: 9 }), { kind: 'flush', take: 4 });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 4 }), { kind: 'flush', take: 4 });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 3 }), { kind: 'wait' });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 3, timerExpired: true }), { kind: 'flush', take: 3 });
});

test('nothing leaves while every worker slot is busy; draining flushes partial batches', () => {
  assert.deepEqual(decideBatch(policy, { ...state, queued: 9, freeSlots: 0 }), { kind: 'idle' });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 2, draining: true }), { kind: 'flush', take: 2 });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 0, draining: true }), { kind: 'idle' });
});

test('flushMs 0 sends whatever is queued as soon as a worker is free', () => {
  assert.deepEqual(decideBatch({ maxBatch: 64, flushMs: 0 }, { ...state, queued: 1 }), { kind: 'flush', take: 1 });
});

test('bad policies are refused with a RangeError', () => {
  assert.throws(() => checkBatchPolicy({ maxBatch: 0, flushMs: 1 }), RangeError);
  assert.throws(() => checkBatchPolicy({ maxBatch: 8, flushMs: -1 }), RangeError);
});

test('when told how many workers are idle, a partial batch waits for one; a full batch does not', () => {
  assert.deepEqual(decideBatch(policy, { ...state, queued: 3, timerExpired: true, freeSlots: 1, idleWorkers: 0 }), {
    kind: 'idle',
  });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 3, timerExpired: true, freeSlots: 1, idleWorkers: 1 }), {
    kind: 'flush',
    take: 3,
  });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 5, freeSlots: 1, idleWorkers: 0 }), {
    kind: 'flush',
    take: 4,
  });
  assert.deepEqual(decideBatch({ maxBatch: 64, flushMs: 0 }, { ...state, queued: 1, idleWorkers: 0 }), {
    kind: 'idle',
  });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 2, draining: true, idleWorkers: 0 }), {
    kind: 'flush',
    take: 2,
  });
});

test('a drained socket cuts a partial batch at once (for an idle worker), unless the policy says otherwise', () => {
  assert.deepEqual(decideBatch(policy, { ...state, queued: 2, socketDrained: true }), { kind: 'flush', take: 2 });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 2, socketDrained: false }), { kind: 'wait' });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 2, socketDrained: true, idleWorkers: 0 }), {
    kind: 'idle',
  });
  assert.deepEqual(decideBatch(policy, { ...state, queued: 9, socketDrained: true }), { kind: 'flush', take: 4 });
  assert.deepEqual(decideBatch({ ...policy, cutOnDrain: false }, { ...state, queued: 2, socketDrained: true }), {
    kind: 'wait',
  });
});
