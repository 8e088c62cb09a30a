import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { MASTER_HEAP_GROWING_PERCENT, tuneHeapForMaster } from '../../src/service/heap.js';

// v8.setFlagsFromString ignores a flag V8 does not know; node's command line refuses it. So the
// command line says whether the V8 inside this node still has the flag the master sets.
const accepts = (flag: string) => spawnSync(process.execPath, [flag, '-e', '0'], { encoding: 'utf8' }).status === 0;

test('the V8 of this node knows the heap-growth flag the master sets', () => {
  assert.equal(
    accepts('--no-such-v8-flag-saturn'),
    false,
    'an unknown flag must be refused, or this test proves nothing',
  );
  assert.equal(accepts(`--heap-growing-percent=${MASTER_HEAP_GROWING_PERCENT}`), true);
});

test("the operator's own heap-growth flag wins over the master's", () => {
  assert.equal(tuneHeapForMaster(['--heap-growing-percent=50'], ''), false);
  assert.equal(tuneHeapForMaster([], '--max-old-space-size=512 --heap_growing_percent=50'), false);
  assert.equal(tuneHeapForMaster(['--max-semi-space-size=8'], '--max-old-space-size=512'), true);
});
