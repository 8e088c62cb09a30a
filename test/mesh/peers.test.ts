import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EdgeTable } from '../../src/mesh/edge-table.js';
import { assignPeers } from '../../src/mesh/peers.js';

const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `n${String(i).padStart(3, '0')}`, addr: `10.0.0.${i}:4123` }));

test('every node checks N others and is checked by exactly N, never itself; the choice rotates', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 60 }),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 1000 }),
      (n, perNode, epoch) => {
        const nodes = fleet(n);
        const checkedBy = new Map(nodes.map((node) => [node.id, 0]));
        for (const node of nodes) {
          const peers = assignPeers(nodes, node.id, perNode, epoch);
          assert.equal(peers.length, Math.min(perNode, n - 1));
          assert.equal(new Set(peers.map((p) => p.id)).size, peers.length, 'no peer twice');
          assert.ok(!peers.some((p) => p.id === node.id), 'never itself');
          for (const p of peers) checkedBy.set(p.id, checkedBy.get(p.id)! + 1);
        }
        for (const count of checkedBy.values()) assert.equal(count, Math.min(perNode, n - 1));
      },
    ),
  );
  const nodes = fleet(20);
  const seen = new Set<string>();
  for (let epoch = 0; epoch < 19; epoch++) for (const p of assignPeers(nodes, 'n000', 3, epoch)) seen.add(p.id);
  assert.equal(seen.size, 19, 'over the epochs a node checks every other');
  assert.deepEqual(assignPeers(nodes, 'stranger', 3, 0), []);
});

test('the edge table keeps the newest result per pair and drops absurd, unknown and stale ones with a reason', () => {
  const table = new EdgeTable(5);
  const known = (id: string) => ['a', 'b', 'c'].includes(id);
  const ok = { peerId: 'b', offsetNs: 10, errorNs: 5, rttNs: 100, ageNs: 1000 };
  assert.deepEqual(table.record('a', [ok], 1_000_000n, known, 30e9), []);
  assert.deepEqual(
    table.record(
      'a',
      [
        { ...ok, peerId: 'a' },
        { ...ok, peerId: 'zz' },
        { ...ok, offsetNs: Number.NaN },
        { ...ok, errorNs: -1 },
        { ...ok, ageNs: 31e9 },
        { ...ok, peerId: 'c', offsetNs: 20 },
      ],
      2_000_000n,
      known,
      30e9,
    ),
    [
      'SATURN_ERR_PEER_UNKNOWN',
      'SATURN_ERR_PEER_UNKNOWN',
      'SATURN_ERR_PEER_ABSURD',
      'SATURN_ERR_PEER_ABSURD',
      'SATURN_ERR_PEER_STALE',
      'SATURN_ERR_PEER_ABSURD', // the sixth: beyond the 5 a reporter may send at once
    ],
  );
  table.record('a', [{ ...ok, offsetNs: 11 }], 3_000_000n, known, 30e9);
  assert.deepEqual(
    table.fresh(() => 0n).map((e) => [e.from, e.to, e.offsetNs]),
    [['a', 'b', 11]],
  );
  assert.deepEqual(
    table.fresh(() => 3_000_000n),
    [],
    'measured 1000 ns before the report',
  );
  assert.deepEqual(
    table.about('b').map((e) => [e.peer, e.offsetNs]),
    [['a', -11]],
  );
  table.forget('b');
  assert.equal(table.size, 0);
});

test('an edge table keeps the newest pair per peer, at most maxPerReporter per reporter, dropping the oldest', () => {
  const table = new EdgeTable(3);
  const known = () => true;
  const report = (peerId: string, offsetNs: number) => [{ peerId, offsetNs, errorNs: 5, rttNs: 100, ageNs: 0 }];
  const peersOf = (from: string) =>
    table
      .fresh(() => 0n)
      .filter((e) => e.from === from)
      .map((e) => [e.to, e.offsetNs]);
  for (const [i, peer] of ['p1', 'p2', 'p3'].entries()) table.record('a', report(peer, i), BigInt(i + 1), known, 30e9);
  table.record('a', report('p1', 10), 10n, known, 30e9); // measured again: updated, now the newest
  assert.deepEqual(peersOf('a'), [
    ['p2', 1],
    ['p3', 2],
    ['p1', 10],
  ]);
  table.record('a', report('p4', 4), 11n, known, 30e9); // a fourth peer: the oldest (p2) goes
  assert.deepEqual(peersOf('a'), [
    ['p3', 2],
    ['p1', 10],
    ['p4', 4],
  ]);
  assert.equal(table.size, 3);
  table.record('b', report('p1', 7), 12n, known, 30e9);
  assert.deepEqual(
    table.about('p1').map((e) => [e.peer, e.offsetNs, e.atMono]),
    [
      ['a', -10, 10n],
      ['b', -7, 12n],
    ],
  );
  table.forget('p1');
  assert.deepEqual(peersOf('a'), [
    ['p3', 2],
    ['p4', 4],
  ]);
  assert.deepEqual(peersOf('b'), []);
  assert.equal(table.size, 2);
});
