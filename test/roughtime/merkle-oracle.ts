/**
 * The straightforward Merkle tree builder: every level as an array of hashes, every PATH built
 * up front. The server's TreeBuilder (server-core.ts) is the one production runs; this stays as
 * the oracle a differential test compares it with.
 */
import { MAX_PATH_ENTRIES, nodeHash } from '../../src/roughtime/merkle.js';

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
