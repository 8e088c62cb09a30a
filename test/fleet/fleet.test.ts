import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frequency } from '../../src/estimate/frequency.js';
import { type DriftReference, Fleet, MAX_INTERVAL_NS, MIN_INTERVAL_NS, stateOf } from '../../src/fleet/fleet.js';
import { S, WALL0, at, check } from '../helpers/finished-check.js';

const fleetOf = (intervalS = 10, forgetAfterS = 86_400) =>
  new Fleet({ thresholdNs: 100e6, intervalNs: intervalS * 1e9, forgetAfterNs: forgetAfterS * 1e9 });

test('lost after 3 intervals of silence, announced once, back on its next check, lost again later', () => {
  const fleet = fleetOf();
  fleet.record(check('web-1', 0));
  fleet.record(check('web-2', 20));
  assert.deepEqual(fleet.sweep(at(29n * S)).lost, []);
  assert.deepEqual(
    fleet.sweep(at(30n * S)).lost.map((n) => n.id),
    ['web-1'],
  );
  assert.deepEqual(fleet.sweep(at(45n * S)).lost, []); // not again
  assert.equal(stateOf(fleet.get('web-1')!), 'lost');
  assert.equal(fleet.record(check('web-1', 46)).back, true);
  assert.equal(stateOf(fleet.get('web-1')!), 'ok');
  assert.equal(fleet.record(check('web-1', 47)).back, false);
  assert.deepEqual(
    fleet.sweep(at(50n * S)).lost.map((n) => n.id),
    ['web-2'],
  );
  assert.deepEqual(
    fleet.sweep(at(77n * S)).lost.map((n) => n.id),
    ['web-1'],
  );
  assert.throws(() => new Fleet({ thresholdNs: 1, intervalNs: 0 }), RangeError);
});

test("lost is 3 of the slave's own intervals, not the master's", () => {
  const fleet = fleetOf(1); // master at 1 s
  fleet.record(check('slow', 0, { intervalNs: 5e9 })); // the slave checks every 5 s
  for (let t = 5; t <= 20; t += 5) {
    assert.deepEqual(fleet.sweep(at(BigInt(t) * S - 1n)).lost, [], `lost at ${t} s`);
    fleet.record(check('slow', t, { intervalNs: 5e9 }));
  }
  assert.deepEqual(fleet.sweep(at(34n * S)).lost, []);
  assert.deepEqual(
    fleet.sweep(at(35n * S)).lost.map((n) => n.id),
    ['slow'],
  );
  // A slave that does not say its interval gets the master's.
  fleet.record(check('old', 40));
  assert.deepEqual(
    fleet.sweep(at(43n * S)).lost.map((n) => n.id),
    ['old'],
  );
});

test('a declared interval is believed up to an hour: a node claiming a day is still lost after 3 hours of silence', () => {
  const fleet = fleetOf();
  fleet.record(check('claims-a-day', 0, { intervalNs: 86_400e9 }));
  assert.equal(fleet.get('claims-a-day')!.intervalNs, MAX_INTERVAL_NS);
  assert.deepEqual(fleet.sweep(at(3n * 3600n * S - 1n)).lost, []);
  assert.deepEqual(
    fleet.sweep(at(3n * 3600n * S)).lost.map((n) => n.id),
    ['claims-a-day'],
  );
});

test('a declared interval is believed down to MIN_INTERVAL_NS: a Report claiming 1 ns does not get its node lost and back at every sweep', () => {
  const fleet = fleetOf();
  let lost = 0;
  for (let ms = 0; ms < 1000; ms += 50) {
    fleet.record({ ...check('claims-1ns', 0, { intervalNs: 1 }), at: at(BigInt(ms) * 1_000_000n) });
    lost += fleet.sweep(at(BigInt(ms + 25) * 1_000_000n)).lost.length;
  }
  assert.equal(lost, 0, 'a node checking every 50 ms is not lost');
  assert.equal(fleet.get('claims-1ns')!.intervalNs, MIN_INTERVAL_NS);
});

test('a node lost for longer than forget-after is forgotten, once', () => {
  const fleet = fleetOf(10, 3600);
  fleet.record(check('web-1', 0));
  fleet.record(check('web-2', 3000));
  assert.deepEqual(fleet.sweep(at(3599n * S)).forgotten, []);
  assert.deepEqual(
    fleet.sweep(at(3600n * S)).forgotten.map((n) => n.id),
    ['web-1'],
  );
  assert.equal(fleet.get('web-1'), undefined);
  assert.deepEqual(fleet.sweep(at(3700n * S)).forgotten, []);
  assert.equal(fleet.size, 1);
});

test('a step of the wall clock does not make anyone lost: ages are monotonic', () => {
  const fleet = fleetOf();
  fleet.record(check('web-1', 0));
  // The master's wall clock jumps a day ahead; the node checks again 5 s later (monotonic).
  fleet.record(check('web-1', 5, { wall: WALL0 + 86_400n * S }));
  assert.deepEqual(fleet.sweep(at(20n * S)).lost, []);
  assert.equal(fleet.get('web-1')!.lastCheckAt, WALL0 + 86_400n * S, 'the wall instant is what is shown');
});

test('a check folds into history, alarm and series; a discarded one only counts; states follow', () => {
  const fleet = fleetOf();
  const first = fleet.record({ ...check('web-3', 0), outcome: { ok: false, code: 'SATURN_ERR_STALLED', detail: 'x' } });
  assert.equal(stateOf(first.node), 'pending');
  const over = fleet.record(check('web-3', 1, { offsetNs: 750e6 }));
  assert.equal(over.alarm, 'drift');
  assert.equal(over.verdict!.offsetNs, 750e6);
  assert.equal(stateOf(over.node), 'over_threshold');
  assert.equal(fleet.get('web-3')!.series.points(0n).length, 1);
  assert.equal(fleet.get('web-3')!.discarded, 1);
  assert.equal(fleet.get('web-3')!.checks, 1);
});

test('a move to a new address is not a conflict; two hosts interleaving one name are, and are kept apart', () => {
  const fleet = fleetOf();
  fleet.record(check('web-3', 0, { ip: '10.0.0.5', port: 4123 }));
  const moved = fleet.record(check('web-3', 10, { ip: '10.0.0.9', port: 4123 }));
  assert.equal(moved.conflict, undefined, 'a single change of address is a move');
  fleet.record(check('web-3', 20, { ip: '10.0.0.9', port: 4123 }));
  assert.equal(fleet.size, 1);
  // A clone appears at 10.0.0.6 and checks between the original's checks.
  const clone = fleet.record(check('web-3', 25, { ip: '10.0.0.6', port: 4123, offsetNs: 500e6 }));
  assert.equal(clone.conflict, undefined);
  const original = fleet.record(check('web-3', 30, { ip: '10.0.0.9', port: 4123 }));
  assert.deepEqual(original.conflict?.addrs, ['10.0.0.9:4123', '10.0.0.6:4123']);
  assert.equal(original.conflict?.merged.id, 'web-3');
  assert.equal(original.node.id, 'web-3@10.0.0.9:4123');
  fleet.record(check('web-3', 35, { ip: '10.0.0.6', port: 4123, offsetNs: 500e6 }));
  assert.deepEqual(
    fleet
      .all()
      .map((n) => n.id)
      .sort(),
    ['web-3@10.0.0.6:4123', 'web-3@10.0.0.9:4123'],
  );
  assert.equal(fleet.get('web-3@10.0.0.6:4123')!.current!.offsetNs, 500e6);
  assert.equal(fleet.get('web-3@10.0.0.9:4123')!.current!.offsetNs, 0);
  assert.equal(fleet.get('web-3@10.0.0.9:4123')!.name, 'web-3');
});

test("a host taking a live node's name is held, never folded in: no alarm for the owner, and the owner's next check reveals two hosts", () => {
  const fleet = fleetOf();
  fleet.record(check('web-2', 0, { ip: '10.0.0.2' }));
  const impostor = fleet.record(check('web-2', 3, { ip: '10.0.0.66', offsetNs: -400e6 }));
  assert.equal(impostor.unconfirmed, true);
  assert.equal(impostor.alarm, undefined);
  assert.equal(impostor.verdict, undefined);
  assert.equal(fleet.get('web-2')!.current!.offsetNs, 0, "the owner's estimate is untouched");
  assert.equal(fleet.get('web-2')!.ip, '10.0.0.2');
  const owner = fleet.record(check('web-2', 10, { ip: '10.0.0.2' }));
  assert.deepEqual(owner.conflict?.addrs, ['10.0.0.2:1', '10.0.0.66:1']);
  assert.equal(owner.node.id, 'web-2@10.0.0.2:1');
  assert.equal(owner.alarm, undefined);
  const again = fleet.record(check('web-2', 13, { ip: '10.0.0.66', offsetNs: -400e6 }));
  assert.equal(again.node.id, 'web-2@10.0.0.66:1', 'the impostor is a node of its own from then on');
  assert.equal(again.alarm, 'drift');
});

test('a move is confirmed by the next check from the new address; the first is held', () => {
  const fleet = fleetOf();
  fleet.record(check('web-3', 0, { ip: '10.0.0.5' }));
  assert.equal(fleet.record(check('web-3', 10, { ip: '10.0.0.9', offsetNs: 1e6 })).unconfirmed, true);
  const confirmed = fleet.record(check('web-3', 20, { ip: '10.0.0.9', offsetNs: 1e6 }));
  assert.equal(confirmed.unconfirmed, undefined);
  assert.equal(confirmed.conflict, undefined);
  assert.equal(confirmed.node.id, 'web-3');
  assert.equal(confirmed.node.ip, '10.0.0.9');
  assert.equal(confirmed.node.current!.offsetNs, 1e6);
  // A node lost at its old address moves at once: nothing alive to confuse it with.
  fleet.sweep(at(60n * S));
  assert.equal(fleet.record(check('web-3', 61, { ip: '10.0.0.7' })).unconfirmed, undefined);
});

test('an address that went quiet long ago coming back is a move back, not a conflict', () => {
  const fleet = fleetOf();
  fleet.record(check('web-3', 0, { ip: '10.0.0.5' }));
  fleet.record(check('web-3', 10, { ip: '10.0.0.9' }));
  assert.equal(fleet.record(check('web-3', 100, { ip: '10.0.0.5' })).conflict, undefined);
});

test('a node drifting fast gets its frequency measured and a drift-rate alarm before it crosses the threshold', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 1e9, maxDriftPpm: 500, predictNs: 600e9 });
  const events: (string | undefined)[] = [];
  let record;
  // 5,000 ppm: 5 ms a second, ±1 µs checks, the wall clock stepped a day ahead midway (ages are monotonic).
  for (let second = 0; second <= 5; second++) {
    const wall = second >= 3 ? WALL0 + 86_400n * S + BigInt(second) * S : undefined;
    record = fleet.record(check('web-4', second, { offsetNs: 5e6 * second, wall }));
    events.push(record.driftRate);
  }
  assert.deepEqual(events, [undefined, 'drift_rate', undefined, undefined, undefined, undefined]);
  const { frequency } = record!.node.current!;
  assert.ok(frequency!.loPpm <= 5000 && 5000 <= frequency!.hiPpm && frequency!.hiPpm - frequency!.loPpm < 2 * 5 + 3); // ± the 5 ppm of wander the model allows
  assert.equal(record!.node.alarm.over, false, 'raised while still 75 ms from the threshold');
  assert.equal(record!.node.driftRate.raised, true);
});

test('the drift rate is judged against the reference: held while the mesh holds, against the agreed time once its frequency is known', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 1e9 });
  const masterFast = { ppm: 5000, loPpm: 4995, hiPpm: 5005, spanNs: 60e9, intervals: 6 };
  const record = (second: number, reference: DriftReference) =>
    fleet.record(check('web-4', second, { offsetNs: -5e6 * second }), () => reference);
  const hold: DriftReference = { kind: 'hold' };
  const agreed = (masterFrequency?: Frequency): DriftReference => ({
    kind: 'agreed',
    agreedOffsetNs: 0,
    agreedErrorNs: 0,
    masterFrequency,
  });
  // web-4 runs 5,000 ppm slow against the master: against the master it drifts.
  assert.deepEqual(
    [record(0, hold).driftRate, record(1, hold).driftRate, record(2, hold).driftRate],
    [undefined, undefined, undefined],
  );
  assert.equal(fleet.get('web-4')!.driftRate.raised, false);
  // Against the agreed time, while the master's own frequency is unknown: kept as it is.
  assert.equal(record(3, agreed()).driftRate, undefined);
  // The master runs 5,000 ppm fast against the agreed time: web-4 is on time, no alarm.
  const onTime = record(4, agreed(masterFast));
  assert.equal(onTime.driftRate, undefined);
  assert.ok(Math.abs(onTime.rate!.frequency.ppm) < 10, `${onTime.rate!.frequency.ppm} ppm against the agreed time`);
  assert.equal(fleet.get('web-4')!.driftRate.raised, false);
  // The master is the reference (no majority): web-4 drifts −5,000 ppm against it.
  const judged = record(5, { kind: 'master' });
  assert.equal(judged.driftRate, 'drift_rate');
  assert.ok(judged.rate!.frequency.hiPpm < -4990);
  // Back to the agreed time, with the master on time: web-4 is the one drifting.
  const masterOnTime = { ppm: 0, loPpm: -5, hiPpm: 5, spanNs: 60e9, intervals: 6 };
  assert.equal(record(6, agreed(masterOnTime)).driftRate, undefined, 'still raised, no new event');
  assert.equal(fleet.get('web-4')!.driftRate.raised, true);
  assert.equal(record(7, agreed(masterFast)).driftRate, 'recovered');
});

test('the fleet bound: known nodes are always admitted, new ones (a new name, a shared name from a new address) only while there is room', () => {
  const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 10e9, maxNodes: 2 });
  assert.ok(fleet.admits('web-1', '10.0.0.5:4123'));
  fleet.record(check('web-1', 0, { ip: '10.0.0.5', port: 4123 }));
  fleet.record(check('web-2', 1, { ip: '10.0.0.6', port: 4123 }));
  assert.equal(fleet.admits('web-3', '10.0.0.7:4123'), false);
  assert.ok(fleet.admits('web-1', '10.0.0.5:4123') && fleet.admits('web-2', '10.0.0.6:4123'));
  assert.ok(fleet.admits('web-1', '10.0.0.99:4123'), 'a known name from a new address is a move, not a new node');
  assert.throws(() => new Fleet({ thresholdNs: 1, intervalNs: 1, maxNodes: 0 }), RangeError);
});
