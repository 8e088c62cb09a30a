/**
 * Who checks whom. The master hands each slave a few peers in the Result of its check, chosen so
 * that every node is checked by about N others and the choice rotates over time. Pure.
 *
 * The live slaves are put on a ring in id order; in epoch `e` every node checks the nodes at the
 * same N offsets along the ring, offsets (r + 1, ..., r + N) with r = e mod (n − 1). Using the
 * same offsets for everyone gives every node exactly N checkers (an offset's inverse is unique),
 * and changing r each epoch rotates who they are. With n − 1 ≤ N everyone checks everyone.
 */
import type { PeerAddress } from '../wire/messages.js';

export type { PeerAddress };

/**
 * The live slaves on the ring, sorted once (the master rebuilds it when the fleet changes, not per
 * check: 10,000 checks an interval must not sort 10,000 nodes each).
 */
export class PeerRing {
  private readonly ring: readonly PeerAddress[];
  private readonly indexOf = new Map<string, number>();

  constructor(nodes: readonly PeerAddress[]) {
    this.ring = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.ring.forEach((node, i) => this.indexOf.set(node.id, i));
  }

  get size(): number {
    return this.ring.length;
  }

  /** The peers `self` checks in `epoch`: fewer than `perNode` when the fleet is small; none for a node not on the ring. */
  peersOf(self: string, perNode: number, epoch: number): PeerAddress[] {
    if (!Number.isInteger(perNode) || perNode < 0)
      throw new RangeError(`perNode must be an integer >= 0, got ${perNode}`);
    const n = this.ring.length;
    const at = this.indexOf.get(self);
    if (at === undefined || n < 2 || perNode === 0) return [];
    const others = n - 1;
    const count = Math.min(perNode, others);
    const r = ((Math.floor(epoch) % others) + others) % others;
    const peers: PeerAddress[] = [];
    for (let k = 1; k <= count; k++) {
      const offset = ((r + k - 1) % others) + 1; // 1 .. n − 1, never 0 (self)
      peers.push(this.ring[(at + offset) % n]!);
    }
    return peers;
  }
}

/**
 * The peers `self` checks in `epoch`, from `nodes` (live slaves, in any order, `self` among them).
 * Fewer than N when the fleet is small; none for a node not in `nodes`.
 */
export function assignPeers(
  nodes: readonly PeerAddress[],
  self: string,
  perNode: number,
  epoch: number,
): PeerAddress[] {
  return new PeerRing(nodes).peersOf(self, perNode, epoch);
}
