/**
 * The mesh's verdict: which clock is wrong, whichever node it is, the master included. Pure: no
 * sockets, no clock reads; estimates and peer edges come in, a verdict goes out.
 *
 * 1. Paths. Every node `a` has an interval for its offset from the master (x_a = a − master) per
 *    path: the master's own measurement (direct, its history estimate), and one through each peer
 *    `b` it has an edge with: x_b + (a − b), where `a − b` was measured by `a` checking `b`, or is
 *    −(b − a) measured by `b` checking `a`. x_b is b's direct estimate; the master is a node at
 *    0 ± its clock's resolution. Each interval holds the truth when the measurements do.
 * 2. A node's estimate is the intersection of its direct interval with the paths that meet it
 *    (when those do not all meet each other, the region most of them share: Marzullo's algorithm
 *    over them, the direct one always among them). Paths that miss the direct interval are
 *    reported (a one-sided path asymmetry, or a node lying in its peer reports), never averaged.
 * 3. Marzullo's algorithm over all nodes' direct intervals, the master at 0, each widened by the
 *    tolerance (so honest noise never splits the fleet): the region the most clocks share is the
 *    agreed time. A node whose widened direct interval misses it is a falseticker. Fewer than 3
 *    nodes, or no strict majority of them agreeing, is `no_majority`: nobody is named.
 *
 * Why the vote takes the direct intervals and not the estimates: peer reports come from nodes that
 * hold the key but are not trusted, and one key holder can report under many names. Had a node's
 * estimate been what most of its paths say, a few invented identities, each adding a path about an
 * honest node, would outnumber its honest paths (a node has about 1 + 2 x --peers of them however
 * large the fleet) and move it, or narrow it off the truth, and get it named. The master's own
 * measurement cannot be forged: a peer report narrows what is shown (the estimate), and is
 * reported when it disagrees, but never decides a vote. A key holder's identities then weigh as
 * many clocks, each as the master measures it: fewer than a majority of them cannot name anyone.
 *
 * Anchors: TigerBeetle's Marzullo over cluster offsets (src/vsr/marzullo.zig), NTP's clock select
 * (RFC 5905 §11.2.1), chrony's falsetickers, CockroachDB's RemoteClockMonitor.
 */
import type { OffsetNs } from '../clock/clock.js';
import { type OffsetInterval, halfWidth, intersect, isEmpty, midpoint } from '../estimate/interval.js';
import { marzulloOf } from './marzullo.js';

/** A node's offset from the master as the master measured it (its history estimate). */
export interface DirectEstimate {
  readonly id: string;
  readonly offsetNs: OffsetNs;
  readonly errorNs: number;
}

/** A peer measurement: `from` checked `to` and found `from − to`. */
export interface PeerEdge {
  readonly from: string;
  readonly to: string;
  readonly offsetNs: OffsetNs;
  readonly errorNs: number;
}

export interface ConsensusInput {
  /** The master's node id; it is a node at 0 ± masterErrorNs. */
  readonly masterId: string;
  readonly masterErrorNs: number;
  /** Fresh direct estimates of the slaves (a lost node is left out). */
  readonly nodes: readonly DirectEstimate[];
  /**
   * Fresh peer edges; edges naming a node without a direct estimate are ignored, and of several
   * edges for one ordered pair only the last counts.
   */
  readonly edges: readonly PeerEdge[];
  /** Every node's interval is widened by this before the vote (--mesh-tolerance). */
  readonly toleranceNs: number;
}

/** A path that missed the node's direct interval. */
export interface DisagreeingPath {
  /** `direct` (the master's own measurement), or the peer the path went through. */
  readonly via: string;
  readonly interval: OffsetInterval;
}

/** What the mesh says about one node (the master included). */
export interface NodeVerdict {
  readonly id: string;
  /** The node's offset from the master: its direct interval narrowed by the paths that meet it (shown, not voted with). */
  readonly estimate: OffsetInterval;
  /** Paths considered (1 = direct only). */
  readonly paths: number;
  readonly disagreeing: readonly DisagreeingPath[];
  /** Outside the agreed time (only when there is a majority). */
  readonly falseticker: boolean;
  /** The node's clock − the agreed time (from its direct interval), and its error bound; undefined without a majority. */
  readonly consensusOffsetNs: OffsetNs | undefined;
  readonly consensusErrorNs: number | undefined;
}

export interface Consensus {
  /** A strict majority of at least 3 nodes agrees. */
  readonly majority: boolean;
  /** The agreed time's offset from the master (e.g. −500 ms when the master is 500 ms fast). */
  readonly agreed: OffsetInterval | undefined;
  /**
   * How many nodes share a time (the largest group, a majority or not), of how many voted (the
   * master included).
   */
  readonly agree: number;
  readonly of: number;
  /** Named falsetickers, master included, in the order of the input (master first). */
  readonly falsetickers: readonly string[];
  readonly nodes: ReadonlyMap<string, NodeVerdict>;
}

/** The fewest nodes (master included) for a verdict. */
export const MIN_VOTERS = 3;

/** Runs the three steps above. O((nodes + edges) log): 10,000 nodes with 3 edges each in a few ms. */
export function evaluateConsensus(input: ConsensusInput): Consensus {
  if (!(input.toleranceNs >= 0) || !(input.masterErrorNs >= 0)) {
    throw new RangeError(
      `toleranceNs and masterErrorNs must be >= 0, got ${input.toleranceNs}, ${input.masterErrorNs}`,
    );
  }
  // Nodes by index, the master first; direct intervals in typed arrays.
  const ids: string[] = [input.masterId];
  const indexOf = new Map<string, number>([[input.masterId, 0]]);
  for (const node of input.nodes) {
    if (indexOf.has(node.id) || !(node.errorNs >= 0) || !Number.isFinite(node.offsetNs)) continue;
    indexOf.set(node.id, ids.length);
    ids.push(node.id);
  }
  const n = ids.length;
  const directLo = new Float64Array(n);
  const directHi = new Float64Array(n);
  directLo[0] = -input.masterErrorNs;
  directHi[0] = input.masterErrorNs;
  for (const node of input.nodes) {
    const i = indexOf.get(node.id);
    if (i === undefined || i === 0) continue;
    directLo[i] = node.offsetNs - node.errorNs;
    directHi[i] = node.offsetNs + node.errorNs;
  }

  // Edges by index, grouped by the node that measured them; one per ordered pair, the last given
  // (a node cannot outvote a path by reporting it twice). Typed arrays, no maps: 30,000 edges.
  const m = input.edges.length;
  const edgeFrom = new Int32Array(m);
  const edgeTo = new Int32Array(m);
  const byFrom = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    const edge = input.edges[e]!;
    const from = indexOf.get(edge.from) ?? -1;
    const to = indexOf.get(edge.to) ?? -1;
    const usable = from >= 0 && to >= 0 && from !== to && edge.errorNs >= 0 && Number.isFinite(edge.offsetNs);
    edgeFrom[e] = usable ? from : -1;
    edgeTo[e] = to;
    if (usable) byFrom[from + 1]!++;
  }
  for (let i = 0; i < n; i++) byFrom[i + 1]! += byFrom[i]!;
  const slot = byFrom.slice(0, n);
  const grouped = new Int32Array(byFrom[n]!).fill(-1);
  for (let e = 0; e < m; e++) {
    const from = edgeFrom[e]!;
    if (from < 0) continue;
    // A later edge for the same pair takes the earlier one's place.
    let k = byFrom[from]!;
    while (k < slot[from]! && edgeTo[grouped[k]!] !== edgeTo[e]) k++;
    if (k === slot[from]) slot[from]!++;
    grouped[k] = e;
  }

  // Step 1: every node's paths, laid out per node (direct first): x_from ∈ x_to + (from − to), and
  // x_to ∈ x_from − (from − to).
  const counts = new Int32Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    for (let k = byFrom[i]!; k < slot[i]!; k++) {
      counts[i]!++;
      counts[edgeTo[grouped[k]!]!]!++;
    }
  }
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i]! + counts[i]!;
  const pathLo = new Float64Array(start[n]!);
  const pathHi = new Float64Array(start[n]!);
  const via = new Int32Array(start[n]!); // -1: direct
  const fill = start.slice(0, n);
  for (let i = 0; i < n; i++) {
    const at = fill[i]!++;
    pathLo[at] = directLo[i]!;
    pathHi[at] = directHi[i]!;
    via[at] = -1;
  }
  for (let from = 0; from < n; from++) {
    for (let k = byFrom[from]!; k < slot[from]!; k++) {
      const e = grouped[k]!;
      const to = edgeTo[e]!;
      const edge = input.edges[e]!;
      const lo = edge.offsetNs - edge.errorNs;
      const hi = edge.offsetNs + edge.errorNs;
      let at = fill[from]!++;
      pathLo[at] = directLo[to]! + lo;
      pathHi[at] = directHi[to]! + hi;
      via[at] = to;
      at = fill[to]!++;
      pathLo[at] = directLo[from]! - hi;
      pathHi[at] = directHi[from]! - lo;
      via[at] = from;
    }
  }

  // Step 2: each node's estimate from its paths.
  const estLo = new Float64Array(n);
  const estHi = new Float64Array(n);
  const disagreeingOf = new Map<number, DisagreeingPath[]>();
  for (let i = 0; i < n; i++) {
    const from = start[i]!;
    const to = start[i + 1]!;
    let lo = -Infinity;
    let hi = Infinity;
    for (let k = from; k < to; k++) {
      if (pathLo[k]! > lo) lo = pathLo[k]!;
      if (pathHi[k]! < hi) hi = pathHi[k]!;
    }
    if (lo <= hi) {
      estLo[i] = lo;
      estHi[i] = hi;
      continue;
    }
    const { estimate, agreeing } = estimateFromPathsMeetingDirect(pathLo, pathHi, from, to);
    estLo[i] = estimate.loNs;
    estHi[i] = estimate.hiNs;
    const disagreeing: DisagreeingPath[] = [];
    for (let k = from; k < to; k++) {
      if (agreeing.has(k - from)) continue;
      disagreeing.push({
        via: via[k]! < 0 ? 'direct' : ids[via[k]!]!,
        interval: { loNs: pathLo[k]!, hiNs: pathHi[k]! },
      });
    }
    disagreeingOf.set(i, disagreeing);
  }

  // Step 3: the vote over the master's own measurements, every interval widened by the tolerance.
  const tol = input.toleranceNs;
  const vote = marzulloOf(
    directLo.map((v) => v - tol),
    directHi.map((v) => v + tol),
    0,
    n,
  );
  const majority = n >= MIN_VOTERS && vote.truechimers * 2 > n;
  // A node agrees when its widened interval holds a region the most clocks share. When disjoint
  // regions tie (a clock drifting away while honest nodes' wide intervals still reach it), each
  // is as agreed as the other: only a node outside all of them is named, and the agreed time
  // spans them (Marzullo's smallest region alone named the honest master of 4 clocks against 4).
  const members = new Uint8Array(n);
  const agreeing: number[] = [];
  for (let i = 0; i < n; i++) {
    const lo = directLo[i]! - tol;
    const hi = directHi[i]! + tol;
    if (holdsARegion(vote.regions, lo, hi)) ((members[i] = 1), agreeing.push(i));
  }
  // The agreed time: where the agreeing nodes' own (unwidened) intervals meet, else the widened regions' span.
  let agreed: OffsetInterval | undefined;
  if (majority) {
    let lo = -Infinity;
    let hi = Infinity;
    for (const i of agreeing) ((lo = Math.max(lo, directLo[i]!)), (hi = Math.min(hi, directHi[i]!)));
    const span = { loNs: vote.regions[0]!.loNs, hiNs: vote.regions[vote.regions.length - 1]!.hiNs };
    agreed = lo <= hi ? { loNs: lo, hiNs: hi } : span;
  }
  const agreedMid = agreed ? midpoint(agreed) : 0;
  const agreedHalf = agreed ? halfWidth(agreed) : 0;
  const verdicts: NodeVerdict[] = [];
  const falsetickers: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    const falseticker = majority && members[i] === 0;
    if (falseticker) falsetickers.push(id);
    const estimate = { loNs: estLo[i]!, hiNs: estHi[i]! };
    const direct = { loNs: directLo[i]!, hiNs: directHi[i]! };
    verdicts.push({
      id,
      estimate,
      paths: start[i + 1]! - start[i]!,
      disagreeing: disagreeingOf.get(i) ?? NONE,
      falseticker,
      consensusOffsetNs: agreed ? midpoint(direct) - agreedMid : undefined,
      consensusErrorNs: agreed ? halfWidth(direct) + agreedHalf : undefined,
    });
  }
  return { majority, agreed, agree: vote.truechimers, of: n, falsetickers, nodes: new VerdictsById(indexOf, verdicts) };
}

/**
 * The verdicts by node id, in input order (the master first), looked up through the evaluation's
 * own index of the nodes: a second map of 10,000 ids built every second was half the evaluation.
 */
class VerdictsById implements ReadonlyMap<string, NodeVerdict> {
  constructor(
    private readonly indexOf: ReadonlyMap<string, number>,
    private readonly verdicts: readonly NodeVerdict[],
  ) {}

  get size(): number {
    return this.verdicts.length;
  }

  get(id: string): NodeVerdict | undefined {
    const i = this.indexOf.get(id);
    return i === undefined ? undefined : this.verdicts[i];
  }

  has(id: string): boolean {
    return this.indexOf.has(id);
  }

  forEach(fn: (verdict: NodeVerdict, id: string, map: ReadonlyMap<string, NodeVerdict>) => void, thisArg?: unknown) {
    for (const verdict of this.verdicts) fn.call(thisArg, verdict, verdict.id, this);
  }

  entries(): MapIterator<[string, NodeVerdict]> {
    return this.verdicts.map((v): [string, NodeVerdict] => [v.id, v]).values();
  }

  keys(): MapIterator<string> {
    return this.verdicts.map((v) => v.id).values();
  }

  values(): MapIterator<NodeVerdict> {
    return this.verdicts.values();
  }

  [Symbol.iterator](): MapIterator<[string, NodeVerdict]> {
    return this.entries();
  }
}

const NONE: readonly DisagreeingPath[] = [];

/**
 * The estimate of a node whose paths (from `from` to `to`, the direct one first) do not all meet:
 * among the paths that meet the direct one, the region most of them share (the direct one always
 * counted), within the direct interval; and which paths (relative indexes) agree with it. A path
 * that misses the direct interval never moves the estimate, however many there are.
 */
function estimateFromPathsMeetingDirect(
  lo: Float64Array,
  hi: Float64Array,
  from: number,
  to: number,
): { estimate: OffsetInterval; agreeing: Set<number> } {
  const onlyLo = lo.slice(from, to);
  const onlyHi = hi.slice(from, to);
  for (let k = 1; k < onlyLo.length; k++) {
    if (onlyLo[k]! > onlyHi[0]! || onlyHi[k]! < onlyLo[0]!) ((onlyLo[k] = 0), (onlyHi[k] = -1)); // left out
  }
  const best = marzulloOf(onlyLo, onlyHi, 0, onlyLo.length);
  const direct: OffsetInterval = { loNs: onlyLo[0]!, hiNs: onlyHi[0]! };
  let estimate = direct;
  for (const k of best.members) estimate = intersect(estimate, { loNs: onlyLo[k]!, hiNs: onlyHi[k]! });
  if (isEmpty(estimate)) estimate = direct;
  const agreeing = new Set(best.members);
  agreeing.add(0);
  return { estimate, agreeing };
}

/**
 * Whether [lo, hi] holds one of `regions` (ascending and disjoint, as Marzullo's tied regions are):
 * the first region starting at or after `lo` ends first among those, so it is the one to check.
 * A binary search: a fleet without a majority has as many regions as nodes.
 */
function holdsARegion(regions: readonly OffsetInterval[], lo: number, hi: number): boolean {
  let a = 0;
  let b = regions.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (regions[m]!.loNs < lo) a = m + 1;
    else b = m;
  }
  return a < regions.length && regions[a]!.hiNs <= hi;
}
