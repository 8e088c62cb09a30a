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
