import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leafHash, nodeHash, rootFromPath } from '../../src/roughtime/merkle.js';
import { buildTree } from './merkle-oracle.js';

const leaves = (n: number, hashBytes: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => leafHash(hashBytes, new Uint8Array([i, i >> 8, 0, 0])));

test('every leaf of trees of 1 to 70 leaves walks its path to the root', () => {
  for (const hashBytes of [32, 64]) {
    for (let n = 1; n <= 70; n++) {
      const tree = buildTree(hashBytes, leaves(n, hashBytes));
      const depth = n === 1 ? 0 : Math.ceil(Math.log2(n));
      leaves(n, hashBytes).forEach((leaf, i) => {
        assert.equal(tree.paths[i]!.byteLength, depth * hashBytes);
        const walked = rootFromPath(hashBytes, leaf, tree.paths[i]!, i);
        assert.ok('root' in walked && Buffer.compare(walked.root, tree.root) === 0, `n=${n} i=${i}`);
      });
    }
  }
});

test('a single leaf is its own root with an empty path', () => {
  const [leaf] = leaves(1, 32);
  const tree = buildTree(32, [leaf!]);
  assert.deepEqual(tree.root, leaf);
  assert.equal(tree.paths[0]!.byteLength, 0);
});

test('bit 0 of INDX puts the running hash on the left', () => {
  const [a, b] = leaves(2, 32) as [Uint8Array, Uint8Array];
  const tree = buildTree(32, [a, b]);
  assert.deepEqual(tree.root, nodeHash(32, a, b));
  assert.deepEqual(tree.paths[0], b);
  assert.deepEqual(tree.paths[1], a);
});

test('a wrong index, leftover INDX bits, a ragged or overlong PATH do not reach the root', () => {
  const all = leaves(8, 32);
  const tree = buildTree(32, all);
  const wrong = rootFromPath(32, all[3]!, tree.paths[3]!, 2);
  assert.ok('root' in wrong && Buffer.compare(wrong.root, tree.root) !== 0);
  assert.match((rootFromPath(32, all[3]!, tree.paths[3]!, 3 + 8) as { reason: string }).reason, /bits set beyond/);
  assert.match(
    (rootFromPath(32, all[3]!, tree.paths[3]!.subarray(1), 3) as { reason: string }).reason,
    /not a multiple of 32/,
  );
  assert.match((rootFromPath(32, all[3]!, new Uint8Array(33 * 32), 3) as { reason: string }).reason, /more than 32/);
  assert.throws(() => buildTree(32, []), RangeError);
});
