/**
 * The Merkle tree a server signs once per batch. Leaf = H(0x00 ‖ input), node = H(0x01 ‖ left ‖
 * right), H being the version's (truncated) SHA-512. A client walks PATH from its leaf, taking
 * INDX bits from the least significant: bit 0 means its hash is the left child.
 */
import { hashParts } from './crypto.js';

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** PATH holds at most this many hashes, so a tree has at most 2^32 leaves and INDX fits a uint32. */
export const MAX_PATH_ENTRIES = 32;

/** H(0x00 ‖ input). */
export function leafHash(hashBytes: number, input: Uint8Array): Uint8Array {
  return hashParts(hashBytes, LEAF_PREFIX, input);
}

/** H(0x01 ‖ left ‖ right). */
export function nodeHash(hashBytes: number, left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashParts(hashBytes, NODE_PREFIX, left, right);
}

/** The root a PATH and INDX lead to from a leaf hash, or a reason why they lead nowhere. */
export function rootFromPath(
  hashBytes: number,
  leaf: Uint8Array,
  path: Uint8Array,
  index: number,
): { root: Uint8Array } | { reason: string } {
  if (path.byteLength % hashBytes !== 0)
    return { reason: `PATH is ${path.byteLength} bytes, not a multiple of ${hashBytes}` };
  const entries = path.byteLength / hashBytes;
  if (entries > MAX_PATH_ENTRIES) return { reason: `PATH has ${entries} entries, more than ${MAX_PATH_ENTRIES}` };
  let hash = leaf;
  let bits = index >>> 0;
  for (let i = 0; i < entries; i++) {
    const sibling = path.subarray(i * hashBytes, (i + 1) * hashBytes);
    hash = (bits & 1) === 0 ? nodeHash(hashBytes, hash, sibling) : nodeHash(hashBytes, sibling, hash);
    bits >>>= 1;
  }
  if (bits !== 0) return { reason: `INDX ${index >>> 0} has bits set beyond the ${entries} levels of PATH` };
  return { root: hash };
}

/** A tree over a batch: its root and, for leaf i, PATH (concatenated sibling hashes) with INDX i. */
export interface MerkleTree {
  readonly root: Uint8Array;
  readonly paths: readonly Uint8Array[];
}

/**
 * Builds the tree over leaf hashes. A level of odd width is completed with a copy of its first
 * node, as Cloudflare's server does, so nothing but real leaves is ever signed. A client does not
 * care which padding a server uses; matching Cloudflare lets the tests reproduce its replies byte
 * for byte.
 */
export function buildTree(hashBytes: number, leaves: readonly Uint8Array[]): MerkleTree {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  if (leaves.length > 2 ** MAX_PATH_ENTRIES)
    throw new RangeError(`${leaves.length} leaves exceed the 2^32 a PATH can address`);
  const depth = leaves.length === 1 ? 0 : Math.ceil(Math.log2(leaves.length));
  const paths = leaves.map(() => new Uint8Array(depth * hashBytes));
  let level: Uint8Array[] = [...leaves];
  for (let d = 0; d < depth; d++) {
    if (level.length % 2 === 1) level.push(level[0]!);
    // Leaf i's sibling at depth d is the node next to its ancestor i >> d.
    for (let i = 0; i < leaves.length; i++) {
      const ancestor = i >>> d;
      paths[i]!.set(level[ancestor ^ 1]!, d * hashBytes);
    }
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(hashBytes, level[i]!, level[i + 1]!));
    level = next;
  }
  return { root: level[0]!, paths };
}
