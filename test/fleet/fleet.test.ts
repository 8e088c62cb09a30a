import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Instant } from '../../src/clock/clock.js';
import { Fleet } from '../../src/fleet/fleet.js';
import type { FinishedCheck } from '../../src/protocol/responder.js';

const S = 1_000_000_000n;
const WALL0 = 1_700_000_000n * S;

/** A finished good check of `id` at monotonic second `second` (wall time in step with it unless `wall` says). */
function check(id: string, second: bigint, offsetNs = 0, wall?: bigint): FinishedCheck {
  const at: Instant = { mono: second * S, wall: wall ?? WALL0 + second * S };
  return {
    nodeId: id,
    ip: '127.0.0.1',
    port: 1,
    at,
    samples: [],
    outcome: { ok: true, estimate: { offsetNs, errorNs: 1000, rttNs: 2000, kept: 4, total: 5 } },
  };
}

test('lost after 3 intervals of silence, announced once, back on its next check, lost again later', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, lostAfterNs: 30e9 });
  fleet.record(check('web-1', 0n));
  fleet.record(check('web-2', 20n));
  assert.deepEqual(fleet.sweep(29n * S), []);
  assert.deepEqual(
    fleet.sweep(30n * S).map((n) => n.id),
    ['web-1'],
  );
  assert.deepEqual(fleet.sweep(45n * S), []); // not again
  assert.equal(fleet.get('web-1')!.lost, true);
  assert.equal(fleet.record(check('web-1', 46n)).back, true);
  assert.equal(fleet.record(check('web-1', 47n)).back, false);
  assert.deepEqual(
    fleet.sweep(50n * S).map((n) => n.id),
    ['web-2'],
  );
  assert.deepEqual(
    fleet.sweep(77n * S).map((n) => n.id),
    ['web-1'],
  );
  assert.throws(() => new Fleet({ thresholdNs: 1, lostAfterNs: 0 }), RangeError);
});

test('a step of the wall clock does not make anyone lost: ages are monotonic', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, lostAfterNs: 30e9 });
  fleet.record(check('web-1', 0n));
  // The master's wall clock jumps a day ahead; the node checks again 5 s later (monotonic).
  fleet.record(check('web-1', 5n, 0, WALL0 + 86_400n * S));
  assert.deepEqual(fleet.sweep(20n * S), []);
  assert.equal(fleet.get('web-1')!.lastCheckAt, WALL0 + 86_400n * S, 'the wall instant is what is shown');
});

test('a check folds into history, alarm and series; a discarded one only counts', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, lostAfterNs: 30e9 });
  const over = fleet.record(check('web-3', 1n, 750e6));
  assert.equal(over.alarm, 'drift');
  assert.equal(over.verdict!.offsetNs, 750e6);
  assert.equal(fleet.get('web-3')!.series.points(0n).length, 1);
  const discarded = fleet.record({
    ...check('web-3', 2n),
    outcome: { ok: false, code: 'SATURN_ERR_CLOCK_STEP', detail: 'a clock stepped' },
  });
  assert.equal(discarded.verdict, undefined);
  assert.equal(fleet.get('web-3')!.discarded, 1);
  assert.equal(fleet.get('web-3')!.checks, 1);
});

test('the fleet bound: known nodes are always admitted, new ones only while there is room', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, lostAfterNs: 30e9, maxNodes: 2 });
  assert.ok(fleet.admits('web-1'));
  fleet.record(check('web-1', 0n));
  fleet.record(check('web-2', 1n));
  assert.equal(fleet.admits('web-3'), false);
  assert.ok(fleet.admits('web-1') && fleet.admits('web-2'));
  assert.throws(() => new Fleet({ thresholdNs: 1, lostAfterNs: 1, maxNodes: 0 }), RangeError);
});
