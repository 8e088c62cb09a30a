import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fleet, frequencyVsAgreed, stateOf } from '../../src/fleet/fleet.js';
import { FleetMesh, VOTE_NODES_PER_SECOND, sweepsPerVote } from '../../src/fleet/fleet-mesh.js';
import { S, at, check } from '../helpers/finished-check.js';
import type { CheckOptions } from '../helpers/finished-check.js';

const MS = 1e6;
const INTERVAL_S = 10;

function meshOf(peersPerNode = 3) {
  const fleet = new Fleet({ thresholdNs: 100 * MS, intervalNs: INTERVAL_S * 1e9 });
  const mesh = new FleetMesh(fleet, {
    masterId: 'master',
    peersPerNode,
    toleranceNs: 1 * MS,
    masterErrorNs: 1000,
    intervalNs: INTERVAL_S * 1e9,
    startMono: 0n,
  });
  /** Records a check as the master does: the drift rule judged against the mesh's reference. */
  const record = (id: string, second: number, options: CheckOptions = {}) => {
    const finished = check(id, second, { intervalNs: INTERVAL_S * 1e9, ...options });
    const result = fleet.record(finished, (node) => mesh.referenceFor(node, finished.at.mono));
    const drops = mesh.recordReports(result.node, finished.peerResults, finished.at);
    return { ...result, drops };
  };
  return { fleet, mesh, record };
}

test('the master 500 ms fast: the mesh names the master once, and its healthy slaves raise no drift alarm', () => {
  const { fleet, mesh, record } = meshOf();
  // Before any vote, a slave's first alarm waits (its offset from the master says nothing yet).
  const first = record('s1', 0, { offsetNs: -500 * MS });
  assert.equal(first.alarm, undefined);
  assert.equal(first.node.reference, 'hold');
  for (const id of ['s2', 's3', 's4']) record(id, 1, { offsetNs: -500 * MS });
  // In the master's first interval the vote may be partial: it names nobody yet.
  const early = mesh.evaluate(at(2n * S))!;
  assert.deepEqual(early.consensus.falsetickers, ['master']);
  assert.deepEqual(early.newFalsetickers, []);
  assert.equal(mesh.masterView?.falseticker, false, 'not shown as a falseticker before it is named');
  const changes = mesh.evaluate(at(10n * S))!;
  assert.deepEqual(
    changes.newFalsetickers.map((v) => v.id),
    ['master'],
  );
  assert.ok(Math.abs(changes.newFalsetickers[0]!.consensusOffsetNs! - 500 * MS) < 0.01 * MS);
  assert.deepEqual([changes.consensus.agree, changes.consensus.of], [4, 5]);
  assert.equal(mesh.masterView?.falseticker, true);
  // Checks after the vote are judged against the agreed time: 0 ms off, no alarm.
  for (const id of ['s1', 's2', 's3', 's4']) {
    const later = record(id, 12, { offsetNs: -500 * MS });
    assert.equal(later.alarm, undefined, id);
    assert.equal(later.node.reference, 'agreed');
    assert.equal(stateOf(later.node), 'ok');
  }
  assert.equal(mesh.evaluate(at(13n * S))!.newFalsetickers.length, 0, 'named once');
  // The master is fixed: the slaves read 0 again and the master recovers.
  for (const id of ['s1', 's2', 's3', 's4']) record(id, 20, { offsetNs: 0 });
  const fixed = mesh.evaluate(at(21n * S))!;
  assert.deepEqual(
    fixed.recovered.map((v) => v.id),
    ['master'],
  );
  assert.equal(fleet.size, 4);
});

test('one slave 500 ms off: it is named and over the threshold against the agreed time; the master is not', () => {
  const { mesh, record } = meshOf();
  for (const id of ['s1', 's2', 's3']) record(id, 0, { offsetNs: 0 });
  record('bad', 0, { offsetNs: 500 * MS });
  assert.deepEqual(mesh.evaluate(at(1n * S))!.newFalsetickers, [], 'named only after its first interval');
  const changes = mesh.evaluate(at(10n * S))!;
  assert.deepEqual(
    changes.newFalsetickers.map((v) => v.id),
    ['bad'],
  );
  const later = record('bad', 11, { offsetNs: 500 * MS });
  assert.equal(later.alarm, 'drift');
  assert.equal(stateOf(later.node), 'falseticker', 'falseticker outranks over_threshold');
  assert.equal(mesh.isFalseticker('master'), false);
});

test('a 2/2 split (the master and one slave against two): no_majority once, nobody named, drift against the master', () => {
  const { mesh, record } = meshOf();
  record('s1', 0, { offsetNs: 0 });
  record('s2', 0, { offsetNs: 500 * MS });
  record('s3', 0, { offsetNs: 500 * MS });
  const changes = mesh.evaluate(at(1n * S))!;
  assert.equal(changes.majorityLost, true);
  assert.deepEqual(changes.consensus.falsetickers, []);
  assert.equal(mesh.evaluate(at(2n * S))!.majorityLost, false, 'raised once');
  // After its first interval a node is judged against the master while the mesh cannot judge.
  const later = record('s2', 11, { offsetNs: 500 * MS });
  assert.equal(later.node.reference, 'master');
  assert.equal(later.alarm, 'drift');
  // One of the two comes back: a majority again.
  record('s3', 12, { offsetNs: 0 });
  assert.equal(mesh.evaluate(at(13n * S))!.majorityRegained, true);
});

test('a fleet checking in after a restart: the two wrong nodes that came first do not get the master named', () => {
  const { mesh, record } = meshOf();
  record('bad1', 0, { offsetNs: 500 * MS });
  record('bad2', 1, { offsetNs: 500 * MS });
  const partial = mesh.evaluate(at(2n * S))!;
  assert.deepEqual(partial.consensus.falsetickers, ['master'], 'two of three is a majority of those in');
  assert.deepEqual(partial.newFalsetickers, []);
  record('s1', 4, { offsetNs: 0 });
  record('s2', 5, { offsetNs: 0 });
  const settled = mesh.evaluate(at(11n * S))!;
  assert.deepEqual([...settled.consensus.falsetickers].sort(), ['bad1', 'bad2']);
  assert.deepEqual(settled.newFalsetickers.map((v) => v.id).sort(), ['bad1', 'bad2']);
  assert.equal(mesh.isFalseticker('master'), false);
});

test('fewer than 3 voters: no verdict and no no_majority (a master with one slave behaves as before)', () => {
  const { mesh, record } = meshOf();
  record('s1', 0, { offsetNs: 500 * MS });
  const changes = mesh.evaluate(at(1n * S))!;
  assert.equal(changes.majorityLost, false);
  assert.equal(changes.consensus.majority, false);
  const later = record('s1', 11, { offsetNs: 500 * MS });
  assert.equal(later.node.reference, 'master');
  assert.equal(later.alarm, 'drift');
});

test('--peers 0: no vote, no hold, no peers handed out; the drift rule is the master’s', () => {
  const { mesh, record } = meshOf(0);
  const first = record('s1', 0, { offsetNs: 500 * MS });
  assert.equal(first.node.reference, 'master');
  assert.equal(first.alarm, 'drift');
  assert.equal(mesh.evaluate(at(1n * S)), undefined);
  assert.deepEqual(mesh.peersFor(first.node, at(1n * S)), []);
});

test('peer reports: unknown, stale and absurd results are dropped with a code; fresh ones become edges', () => {
  const { mesh, record } = meshOf();
  record('s1', 0);
  record('s2', 0);
  const result = (peerId: string, over: object = {}) => ({
    peerId,
    offsetNs: 0.1 * MS,
    errorNs: 0.2 * MS,
    rttNs: 0.3 * MS,
    ageNs: 1e9,
    ...over,
  });
  const { drops } = record('s3', 1, {
    peerResults: [
      result('s1'),
      result('nobody'),
      result('s3'),
      result('s2', { ageNs: 31e9 }),
      result('s2', { offsetNs: Number.NaN }),
      result('s2', { errorNs: -1 }),
    ],
  });
  assert.deepEqual(drops, [
    'SATURN_ERR_PEER_UNKNOWN',
    'SATURN_ERR_PEER_UNKNOWN',
    'SATURN_ERR_PEER_STALE',
    'SATURN_ERR_PEER_ABSURD',
    'SATURN_ERR_PEER_ABSURD',
  ]);
  assert.deepEqual(
    mesh.freshEdges(2n * S).map((e) => [e.from, e.to]),
    [['s3', 's1']],
  );
  assert.deepEqual(mesh.freshEdges(32n * S), [], 'stale after 3 of the reporter’s intervals');
});

test('a lying reporter (valid key, false offsets) does not get an honest node named', () => {
  const { mesh, record } = meshOf();
  for (const id of ['s1', 's2', 's3']) record(id, 0, { offsetNs: 0 });
  // The liar says s1 is 400 ms behind it; the master and the others measure s1 at 0.
  const lie = { peerId: 's1', offsetNs: 400 * MS, errorNs: 0.1 * MS, rttNs: 0.2 * MS, ageNs: 0 };
  record('liar', 1, { offsetNs: 0, peerResults: [lie] });
  const honest = { offsetNs: 0, errorNs: 0.1 * MS, rttNs: 0.2 * MS, ageNs: 0 };
  record('s2', 1, { peerResults: [{ peerId: 's1', ...honest }] });
  record('s3', 1, { peerResults: [{ peerId: 's1', ...honest }] });
  const changes = mesh.evaluate(at(2n * S))!;
  assert.deepEqual(changes.consensus.falsetickers, []);
  assert.ok(
    changes.consensus.nodes.get('s1')!.disagreeing.some((p) => p.via === 'liar'),
    'the lie shows as a path',
  );
});

test('peers: each live slave gets min(N, others) peers, never itself, from the ring', () => {
  const { fleet, mesh, record } = meshOf(3);
  for (let i = 0; i < 10; i++) record(`n${i}`, 0);
  const inDegree = new Map<string, number>();
  for (const node of fleet.all()) {
    const peers = mesh.peersFor(node, at(5n * S));
    assert.equal(peers.length, 3);
    assert.ok(!peers.some((p) => p.id === node.id));
    for (const p of peers) inDegree.set(p.id, (inDegree.get(p.id) ?? 0) + 1);
  }
  assert.deepEqual([...new Set(inDegree.values())], [3], 'each node checked by exactly 3');
});

test('a lost falseticker keeps its flag (a silent node has not recovered); forgetting it clears it', () => {
  const { fleet, mesh, record } = meshOf();
  for (const id of ['s1', 's2', 's3']) record(id, 0);
  record('bad', 0, { offsetNs: 500 * MS });
  assert.deepEqual(
    mesh.evaluate(at(10n * S))!.newFalsetickers.map((v) => v.id),
    ['bad'],
  );
  for (const id of ['s1', 's2', 's3']) record(id, 25);
  fleet.sweep(at(31n * S)); // bad silent for 3 intervals: lost
  const changes = mesh.evaluate(at(31n * S))!;
  assert.deepEqual(changes.recovered, []);
  assert.equal(mesh.isFalseticker('bad'), true);
  assert.deepEqual(mesh.named, ['bad']);
  assert.equal(fleet.get('bad')!.mesh?.falseticker, true, '/status says what the alert says');
  assert.equal(stateOf(fleet.get('bad')!), 'lost');
  mesh.forget('bad');
  assert.equal(mesh.isFalseticker('bad'), false);
});

test("the master's own clock steps 500 ms: nobody alarmed or named until every slave is re-measured, then the master is", () => {
  const { mesh, record } = meshOf();
  for (const second of [0, 10, 20]) {
    for (const id of ['s1', 's2', 's3']) record(id, second, { offsetNs: 0 });
    mesh.evaluate(at(BigInt(second + 1) * S));
  }
  assert.equal(mesh.consensus?.majority, true);
  mesh.masterStepped(25n * S); // the master's clock now reads 500 ms ahead: slaves measure -500 ms
  const first = record('s1', 30, { offsetNs: -500 * MS });
  assert.equal(first.alarm, undefined, 'judged against a vote taken before the step, s1 would drift');
  assert.equal(first.node.reference, 'hold');
  // Half the fleet re-measured: the vote would name s1 (or split); it names nobody yet.
  const partial = mesh.evaluate(at(31n * S))!;
  assert.deepEqual(partial.newFalsetickers, []);
  assert.equal(partial.majorityLost, false);
  for (const id of ['s2', 's3']) assert.equal(record(id, 32, { offsetNs: -500 * MS }).alarm, undefined, id);
  const settled = mesh.evaluate(at(33n * S))!;
  assert.deepEqual(
    settled.newFalsetickers.map((v) => v.id),
    ['master'],
    'every slave re-measured: the master is the one that moved',
  );
  for (const id of ['s1', 's2', 's3']) {
    const later = record(id, 40, { offsetNs: -500 * MS });
    assert.equal(later.alarm, undefined, id);
    assert.equal(later.node.reference, 'agreed');
  }
});

test("after the master's clock steps, a slave that is not checked again holds the fleet for 3 of its intervals at most", () => {
  const { mesh, record } = meshOf();
  for (const id of ['s1', 's2', 's3', 'quiet']) record(id, 0, { offsetNs: 0 });
  mesh.evaluate(at(10n * S));
  mesh.masterStepped(11n * S);
  for (const id of ['s1', 's2', 's3']) record(id, 12, { offsetNs: -500 * MS });
  mesh.evaluate(at(13n * S));
  assert.equal(record('s1', 14, { offsetNs: -500 * MS }).node.reference, 'hold', 'quiet has not been re-measured');
  mesh.evaluate(at(41n * S)); // 3 intervals of quiet's since the step
  assert.equal(record('s1', 42, { offsetNs: -500 * MS }).node.reference, 'agreed');
});

test('--peers 0: a step of the master holds nothing (the drift rule is the master’s)', () => {
  const { mesh, record } = meshOf(0);
  record('s1', 0, { offsetNs: 0 });
  mesh.masterStepped(1n * S);
  assert.equal(record('s1', 2, { offsetNs: -500 * MS }).alarm, 'drift');
});

/**
 * A fleet of slaves whose clocks run at `ppm` (against true time) and a master at `masterPpm`,
 * checked every interval (slave i `staggerS`·i seconds into it) and voted on every second for
 * `seconds`; each check is the true offset (slave − master) ± 50 µs.
 */
function simulate(slaves: Record<string, number>, masterPpm: number, seconds: number, staggerS: number) {
  const { fleet, mesh, record } = meshOf();
  const driftRates: [number, string, string][] = [];
  const majority: boolean[] = [];
  const ids = Object.keys(slaves);
  for (let tenth = 0; tenth <= seconds * 10; tenth++) {
    const second = tenth / 10;
    ids.forEach((id, i) => {
      if (Math.round(tenth - staggerS * 10 * i) % (INTERVAL_S * 10) !== 0 || second < staggerS * i) return;
      const offsetNs = (slaves[id]! - masterPpm) * 1e3 * second;
      const result = record(id, second, { offsetNs, errorNs: 0.05 * MS });
      if (result.driftRate) driftRates.push([second, id, result.driftRate]);
    });
    if (tenth % 10 === 0) majority.push(mesh.evaluate(at(BigInt(tenth / 10) * S))!.consensus.majority);
  }
  return { fleet, mesh, driftRates, majority };
}

test('the master 1,000 ppm fast among 4 honest slaves: the mesh measures the master’s rate and no slave raises drift_rate', () => {
  const honest = { s1: 0, s2: 0, s3: 0, s4: 0 };
  const { fleet, mesh, driftRates, majority } = simulate(honest, 1000, 600, 0.1);
  assert.deepEqual(driftRates, []);
  assert.ok(majority.slice(1).every(Boolean), 'a majority at every vote once three clocks are in');
  assert.ok(mesh.isFalseticker('master'), 'the master is the clock named');
  const master = mesh.masterFrequency!;
  assert.ok(master.loPpm <= 1000 && 1000 <= master.hiPpm && master.hiPpm - master.loPpm < 12, JSON.stringify(master));
  for (const node of fleet.all()) {
    assert.ok(node.current!.frequency!.hiPpm < -990, `${node.id} drifts −1,000 ppm against the master`);
    const vsAgreed = frequencyVsAgreed(node, master)!;
    assert.ok(vsAgreed.loPpm <= 0 && 0 <= vsAgreed.hiPpm && vsAgreed.hiPpm - vsAgreed.loPpm < 25, node.id);
    assert.equal(node.reference, 'agreed');
    assert.equal(node.driftRate.raised, false);
  }
});

test('one slave 1,000 ppm fast among honest nodes still raises drift_rate, judged against the agreed time', () => {
  const { fleet, mesh, driftRates } = simulate({ s1: 0, s2: 0, s3: 0, fast: 1000 }, 0, 120, 0.1);
  assert.deepEqual(
    driftRates.map(([, id, kind]) => [id, kind]),
    [['fast', 'drift_rate']],
  );
  assert.ok(driftRates[0]![0] <= 30, `raised at ${driftRates[0]![0]} s: within 3 checks of a proven rate`);
  const master = mesh.masterFrequency!;
  assert.ok(master.loPpm <= 0 && 0 <= master.hiPpm);
  const fast = fleet.get('fast')!;
  assert.equal(fast.reference, 'agreed');
  assert.ok(fast.driftRate.raised);
  const vsAgreed = frequencyVsAgreed(fast, master)!;
  assert.ok(vsAgreed.loPpm <= 1000 && 1000 <= vsAgreed.hiPpm);
});

test('checks spread over the interval: estimates carried to the vote’s instant keep a fast master’s honest fleet together', () => {
  // The slaves check 2 s apart: compared as measured they would sit 2, 4, 6 ms apart (1,000 ppm).
  const { fleet, majority, driftRates } = simulate({ s1: 0, s2: 0, s3: 0, s4: 0 }, 1000, 300, 2);
  assert.ok(
    majority.slice(40).every(Boolean),
    `a majority at every vote once rates are known: ${majority.indexOf(false, 40)}`,
  );
  // Until the slaves' rates rest on 3 checks (30 s) nothing is carried, the vote splits, and drift
  // is judged against the master as without a mesh: raised, then recovered once the mesh judges.
  assert.ok(
    driftRates.every(([second]) => second <= 40),
    JSON.stringify(driftRates),
  );
  for (const node of fleet.all()) {
    assert.ok(Math.abs(node.mesh!.consensusOffsetNs!) < 1 * MS, `${node.id}: ${node.mesh!.consensusOffsetNs} ns`);
    assert.equal(node.driftRate.raised, false, node.id);
  }
});

test('a drift judged against the agreed time quotes the offset it judged, not the offset from the master', () => {
  const { mesh, record } = meshOf();
  // The master 500 ms fast; web-4 450 ms ahead of true time: -50 ms from the master, +450 ms from the agreed time.
  for (const id of ['s1', 's2', 's3']) record(id, 0, { offsetNs: -500 * MS });
  record('s4', 0, { offsetNs: -50 * MS });
  mesh.evaluate(at(10n * S));
  const later = record('s4', 11, { offsetNs: -50 * MS });
  assert.equal(later.alarm, 'drift');
  assert.equal(later.judged?.reference, 'agreed');
  assert.ok(Math.abs(later.judged!.offsetNs - 450 * MS) < 1 * MS, `judged ${later.judged!.offsetNs / MS} ms`);
  assert.ok(Math.abs(later.verdict!.offsetNs + 50 * MS) < 1 * MS, 'the check itself is still against the master');
});

test('sweepsPerVote: every sweep up to 2,000 nodes a second, fewer sweeps per vote beyond, at least two votes an interval', () => {
  const second = 1e9;
  assert.equal(sweepsPerVote(0, second, 10 * second), 1);
  assert.equal(sweepsPerVote(1000, second, 10 * second), 1);
  assert.equal(sweepsPerVote(VOTE_NODES_PER_SECOND, second, 10 * second), 1);
  assert.equal(sweepsPerVote(VOTE_NODES_PER_SECOND + 1, second, 10 * second), 2);
  assert.equal(sweepsPerVote(10_000, second, 10 * second), 5);
  assert.equal(sweepsPerVote(100_000, second, 10 * second), 5, 'half an interval at most');
  assert.equal(sweepsPerVote(100_000, second, 60 * second), 30);
  // A short interval sweeps twice an interval: every sweep votes, whatever the fleet.
  assert.equal(sweepsPerVote(100_000, 0.5 * second, second), 1);
  assert.equal(sweepsPerVote(100_000, 0.01 * second, 0.02 * second), 1);
});
