/**
 * The mesh on the master: the peer results slaves report, who checks whom, the consensus over the
 * fleet (the master included) and what changed since the last one. Pure state over the Fleet: no
 * sockets, no clock reads (instants come in), no events (the master service turns the changes
 * returned here into events).
 *
 * The rules:
 * - a report is recorded only about a node the master knows, fresh (3 of the reporter's intervals),
 *   and plausible; the rest is dropped with a code for the caller to count (EdgeTable);
 * - the consensus runs over the nodes that are not lost and have an estimate, with the edges of
 *   the last 3 intervals of each reporter; the master is a node at 0 ± its clock's resolution.
 *   Each node's estimate is carried from its last check to the evaluation's instant at its
 *   frequency bound (unmoved while its frequency is unknown or rests on two checks), so the vote
 *   compares clocks at one instant: a master drifting at 1,000 ppm moves every slave's offset by
 *   10 ms between checks 10 s apart, which compared as they were would split an honest fleet;
 * - the master's own frequency relative to the agreed time is measured from the consensuses
 *   (MasterFrequency); the drift-rate rule judges a node against the agreed time with it;
 * - the drift rule judges a node against the agreed time while a majority agrees; with the mesh on,
 *   a node's first alarm waits (`hold`) until there is a majority or one of its intervals has passed
 *   since its first check; otherwise it judges against the master, as the original tool did;
 * - a node is named a falseticker only once one of its intervals has passed since its first check
 *   (for the master: since it started): a fleet that is still checking in after a (re)start is a
 *   partial vote, and two wrong nodes that happen to check in first must not get a right one named.
 *   The verdict waits; the node keeps its state meanwhile.
 * - after the master's own clock stepped, every offset measured before is against a clock that
 *   moved: drift waits (`hold`), and nobody is named nor the majority declared lost, until every
 *   live node has a good check since the step (a check spanning it is discarded) and the mesh has
 *   voted on those, so the slaves' agreement, not a half-updated fleet, decides whose clock moved.
 */
import type { Instant, Nanos } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { type Frequency, carryInterval } from '../estimate/frequency.js';
import { around, halfWidth, midpoint } from '../estimate/interval.js';
import { type Consensus, type NodeVerdict, type PeerEdge, evaluateConsensus } from '../mesh/consensus.js';
import { EdgeTable, type PeerReport } from '../mesh/edge-table.js';
import { MasterFrequency } from '../mesh/master-frequency.js';
import { type PeerAddress, PeerRing } from '../mesh/peers.js';
import {
  type DriftReference,
  type Fleet,
  LOST_AFTER_INTERVALS,
  type MeshView,
  type NodeState,
  addrOf,
} from './fleet.js';

export interface FleetMeshOptions {
  /** The master's --name: its node id in the consensus. */
  masterId: string;
  /** --peers: peers each slave checks (0: the mesh is off; no consensus, drift against the master). */
  peersPerNode: number;
  /** --mesh-tolerance, ns. */
  toleranceNs: number;
  /** The master's clock resolution, ns: its interval in the vote is 0 ± this. */
  masterErrorNs: number;
  /** The master's --interval, ns: peer assignments rotate every ROTATE_INTERVALS of it. */
  intervalNs: number;
  /** Monotonic instant the master started: it is not named before one interval after it. */
  startMono: Nanos;
}

/** Peer assignments change every this many master intervals (each slave sees a few peers in turn). */
export const ROTATE_INTERVALS = 6;

const RING_REBUILD_NS = 1_000_000_000n;

/**
 * Nodes the vote takes per second of sweeps before it runs less often than every sweep. One vote
 * costs the master about 5 µs a node (the vote itself, the nodes' carried estimates and the fresh
 * edges: ~50 ms at 10,000 nodes in the master's CPU profile under bench:scale, where the vote
 * alone in bench:mesh takes 10 ms), so this keeps the vote near 1% of a core at any fleet size,
 * as long as half an interval allows it: a vote at least every half interval wins (at a 1 s interval
 * and 10,000 nodes, a vote every 500 ms: ~10% of a core, beside the 10,000 checks a second).
 */
export const VOTE_NODES_PER_SECOND = 2000;

/**
 * How many of the master's sweeps (one every `sweepNs`) make one vote over a fleet of `nodes`:
 * every sweep up to VOTE_NODES_PER_SECOND nodes a second, fewer for a larger fleet, but at least
 * one vote every half of the master's interval, so that a node whose check shows it off is
 * named (or cleared) within half an interval of that check, as a majority lost or regained is.
 */
export function sweepsPerVote(nodes: number, sweepNs: number, intervalNs: number): number {
  const spread = Math.ceil(((nodes / VOTE_NODES_PER_SECOND) * 1e9) / sweepNs);
  const most = Math.floor(intervalNs / 2 / sweepNs);
  return Math.max(1, Math.min(spread, most));
}

/** What one evaluation changed. */
export interface MeshChanges {
  readonly consensus: Consensus;
  /** Nodes named falsetickers now that were not, with the mesh's verdict on them. */
  readonly newFalsetickers: readonly NodeVerdict[];
  /** Former falsetickers the majority agrees with again. */
  readonly recovered: readonly NodeVerdict[];
  /** A majority was there (or nothing had been judged) and is not, among at least 3 voters. */
  readonly majorityLost: boolean;
  /** A majority is back after majorityLost. */
  readonly majorityRegained: boolean;
}

export class FleetMesh {
  readonly edges = new EdgeTable();
  /** The master's frequency relative to the agreed time, from the consensuses. */
  private readonly masterRate: MasterFrequency;
  private last: Consensus | undefined;
  private falsetickers = new Set<string>();
  private noMajority = false;
  private ring: PeerRing | undefined;
  private ringMembership = -1;
  private ringBuiltMono = 0n;
  /** Since the master's clock stepped: each live node's good checks then; cleared once each has one more. */
  private stepHold: { atMono: Nanos; checks: Map<string, number> } | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly options: FleetMeshOptions,
  ) {
    if (!(Number.isInteger(options.peersPerNode) && options.peersPerNode >= 0))
      throw new RangeError(`peersPerNode must be an integer >= 0, got ${options.peersPerNode}`);
    this.masterRate = new MasterFrequency(options.intervalNs);
  }

  get enabled(): boolean {
    return this.options.peersPerNode > 0;
  }

  /** The last consensus (undefined before the first evaluation, or with the mesh off). */
  get consensus(): Consensus | undefined {
    return this.last;
  }

  /**
   * The master's frequency relative to the agreed time (master − agreed, ppm), as of the last
   * evaluation: undefined without a majority, or until it is measured.
   */
  get masterFrequency(): Frequency | undefined {
    return this.masterRate.frequency;
  }

  /** The mesh's view of the master itself, as of the last evaluation. */
  get masterView(): MeshView | undefined {
    const verdict = this.last?.nodes.get(this.options.masterId);
    return verdict && this.viewOf(verdict);
  }

  /** Records what `reporter` says of its peers (its check finished at `at`); returns a drop code per refused result. */
  recordReports(reporter: NodeState, reports: readonly PeerReport[], at: Instant): ErrorCode[] {
    if (!this.enabled || reports.length === 0) return [];
    return this.edges.record(
      reporter.id,
      reports,
      at.mono,
      (id) => this.fleet.get(id) !== undefined,
      freshWindowNs(reporter),
    );
  }

  /** The peers `node` should check next (sent in its Result): its place on the ring of live slaves. */
  peersFor(node: NodeState, at: Instant): PeerAddress[] {
    if (!this.enabled) return [];
    const epoch = Math.floor(Number(at.mono) / (ROTATE_INTERVALS * this.options.intervalNs));
    return this.currentRing(at.mono).peersOf(node.id, this.options.peersPerNode, epoch);
  }

  /**
   * The master's own clock stepped (noticed at monotonic `atMono`): holds drift, new falsetickers
   * and a lost majority until every node live now has a good check since, or has been silent for
   * LOST_AFTER_INTERVALS of its intervals (it would be lost anyway). Nothing to hold with the mesh off.
   */
  masterStepped(atMono: Nanos): void {
    if (!this.enabled) return;
    const checks = new Map<string, number>();
    for (const node of this.fleet.all())
      if (!node.lost && node.id !== this.options.masterId) checks.set(node.id, node.checks);
    this.stepHold = { atMono, checks };
  }

  /**
   * What the drift rule judges `node` against now: the agreed time while a majority agrees; `hold`
   * while the mesh cannot judge yet and the node's first interval is not over; else the master.
   */
  referenceFor(node: NodeState, nowMono: Nanos): DriftReference {
    if (!this.enabled) return { kind: 'master' };
    if (this.stepHold !== undefined) return { kind: 'hold' };
    const agreed = this.last?.majority ? this.last.agreed : undefined;
    if (agreed) {
      return {
        kind: 'agreed',
        agreedOffsetNs: midpoint(agreed),
        agreedErrorNs: halfWidth(agreed),
        masterFrequency: this.masterRate.frequency,
      };
    }
    return this.last === undefined || inFirstInterval(node, nowMono) ? { kind: 'hold' } : { kind: 'master' };
  }

  /** Runs the consensus over the fleet as it is at `now`, updates each node's view, and returns what changed. */
  evaluate(now: Instant): MeshChanges | undefined {
    if (!this.enabled) return undefined;
    const live = this.fleet.all().filter((n) => !n.lost && n.current !== undefined && n.id !== this.options.masterId);
    const consensus = evaluateConsensus({
      masterId: this.options.masterId,
      masterErrorNs: this.options.masterErrorNs,
      nodes: live.map((n) => carried(n, now.mono)),
      edges: this.freshEdges(now.mono),
      toleranceNs: this.options.toleranceNs,
    });
    // The vote above ran on what the fleet holds now: if every node was re-measured since the
    // master's step, the hold ends with it; until then its verdicts name nobody.
    const holding = this.stepHold !== undefined && !this.settledSinceStep(now.mono);
    if (!holding) this.stepHold = undefined;
    const newFalsetickers: NodeVerdict[] = [];
    const recovered: NodeVerdict[] = [];
    for (const id of consensus.falsetickers)
      if (!holding && !this.falsetickers.has(id) && this.judgeable(id, now.mono))
        newFalsetickers.push(consensus.nodes.get(id)!);
    if (consensus.majority) {
      // Recovery needs a majority that agrees with the node; a node gone (lost) keeps its flag.
      for (const id of this.falsetickers) {
        const verdict = consensus.nodes.get(id);
        if (verdict && !verdict.falseticker) recovered.push(verdict);
      }
    }
    for (const v of newFalsetickers) this.falsetickers.add(v.id);
    for (const v of recovered) this.falsetickers.delete(v.id);
    for (const node of this.fleet.all()) {
      const verdict = consensus.nodes.get(node.id);
      // A named node without a verdict (lost: a silent node has not recovered) stays named.
      if (!verdict) node.mesh = this.falsetickers.has(node.id) ? NAMED_WITHOUT_VERDICT : undefined;
      else if (node.mesh instanceof LiveView) node.mesh.refresh(verdict, this.falsetickers.has(node.id));
      else node.mesh = this.viewOf(verdict);
    }
    const split = !consensus.majority && consensus.of >= 3;
    const majorityLost = split && !this.noMajority && !holding;
    const majorityRegained = consensus.majority && this.noMajority;
    if (majorityLost) this.noMajority = true;
    if (majorityRegained) this.noMajority = false;
    this.last = consensus;
    this.masterRate.observe(now.mono, consensus);
    return { consensus, newFalsetickers, recovered, majorityLost, majorityRegained };
  }

  /** Whether every node held since the master's step has a good check since, or has been silent too long to wait for. */
  private settledSinceStep(nowMono: Nanos): boolean {
    const hold = this.stepHold!;
    for (const [id, before] of hold.checks) {
      const node = this.fleet.get(id);
      if (node === undefined || node.lost || node.checks > before) continue;
      if (nowMono - hold.atMono >= BigInt(Math.round(LOST_AFTER_INTERVALS * node.intervalNs))) continue;
      return false;
    }
    return true;
  }

  /** Whether `id` may be named now: one of its intervals has passed since its first check (the master's: since it started). */
  private judgeable(id: string, nowMono: Nanos): boolean {
    if (id === this.options.masterId)
      return nowMono >= this.options.startMono + BigInt(Math.round(this.options.intervalNs));
    const node = this.fleet.get(id);
    return node !== undefined && !inFirstInterval(node, nowMono);
  }

  /** A verdict as the node's state shows it: a falseticker is a node the mesh has named (its event raised). */
  private viewOf(verdict: NodeVerdict): MeshView {
    return new LiveView(verdict, this.falsetickers.has(verdict.id));
  }

  /** The peer edges measured within 3 of their reporter's intervals before `nowMono`. */
  freshEdges(nowMono: Nanos): PeerEdge[] {
    return this.edges.fresh((reporter) => nowMono - BigInt(Math.round(freshWindowNs(this.fleet.get(reporter)))));
  }

  /** The nodes the mesh names now, the master included (their events raised, not yet recovered). */
  get named(): readonly string[] {
    return [...this.falsetickers];
  }

  /** Whether the mesh currently names `id` (kept while the node is lost). */
  isFalseticker(id: string): boolean {
    return this.falsetickers.has(id);
  }

  /** Forgets a node (forgotten by the fleet, or its name found shared). */
  forget(id: string): void {
    this.edges.forget(id);
    this.falsetickers.delete(id);
  }

  /**
   * The ring of live slaves, rebuilt when the fleet's membership changed, at most once a second
   * (a fleet of 10,000 starting at once changes with every check: a sort each would be quadratic).
   */
  private currentRing(nowMono: Nanos): PeerRing {
    const stale = this.ringMembership !== this.fleet.membership && nowMono - this.ringBuiltMono >= RING_REBUILD_NS;
    if (!this.ring || stale) {
      this.ringBuiltMono = nowMono;
      const live = this.fleet.all().filter((n) => !n.lost && n.id !== this.options.masterId);
      this.ring = new PeerRing(live.map((n) => ({ id: n.id, addr: addrOf(n) })));
      this.ringMembership = this.fleet.membership;
    }
    return this.ring;
  }
}

/**
 * Checks a frequency must rest on before the vote carries a node's estimate at it. Two checks
 * always fit a line, so a clock stepped between them reads as a rate (300 ms in 10 s: 30,000
 * ppm) that carrying would turn into a wrong offset; a third check contradicts such a rate (the
 * history resets), so a rate from three is one the clock kept.
 */
export const CARRY_MIN_CHECKS = 3;

/** A node's estimate carried from its last check to `nowMono` at its frequency bound. */
function carried(node: NodeState, nowMono: Nanos): { id: string; offsetNs: number; errorNs: number } {
  const { offsetNs, errorNs, frequency } = node.current!;
  const ageNs = node.checkedMono === undefined ? 0 : Number(nowMono - node.checkedMono);
  const proven = frequency && frequency.intervals >= CARRY_MIN_CHECKS ? frequency : undefined;
  const interval = carryInterval(around(offsetNs, errorNs), proven, ageNs);
  return { id: node.id, offsetNs: midpoint(interval), errorNs: halfWidth(interval) };
}

/** Whether `node`'s first interval (from its first check) is still running at `nowMono`. */
function inFirstInterval(node: NodeState, nowMono: Nanos): boolean {
  return nowMono < node.firstSeenMono + BigInt(Math.round(node.intervalNs));
}

/** How old a reporter's edges may be: 3 of its intervals (the master's default for an unknown reporter). */
function freshWindowNs(reporter: NodeState | undefined): number {
  return LOST_AFTER_INTERVALS * (reporter?.intervalNs ?? 0);
}

/**
 * A node's MeshView: whether the mesh names it, and the rest read from the last evaluation's
 * verdict when asked (for /status and the dashboard). Kept on the node and refreshed in place by
 * each evaluation: evaluating 10,000 nodes a second builds no view (and no list of paths) per node.
 */
/** The view of a node the mesh names while it has no verdict (lost). */
const NAMED_WITHOUT_VERDICT: MeshView = {
  falseticker: true,
  consensusOffsetNs: undefined,
  consensusErrorNs: undefined,
  paths: 0,
  disagreeing: [],
};

class LiveView implements MeshView {
  constructor(
    private verdict: NodeVerdict,
    public falseticker: boolean,
  ) {}

  refresh(verdict: NodeVerdict, falseticker: boolean): void {
    this.verdict = verdict;
    this.falseticker = falseticker;
  }

  get consensusOffsetNs(): number | undefined {
    return this.verdict.consensusOffsetNs;
  }

  get consensusErrorNs(): number | undefined {
    return this.verdict.consensusErrorNs;
  }

  get paths(): number {
    return this.verdict.paths;
  }

  get disagreeing(): readonly string[] {
    return this.verdict.disagreeing.map((d) => d.via);
  }
}
