/**
 * The master's knowledge of its slaves: one NodeState per node with everything about it (its
 * history of checks, its threshold alarm, when it was last heard of, its series for the plot).
 * Pure state: fed finished checks and the time of sweeps, it says what changed and leaves the
 * events, logs and metrics to its caller. Ages and the lost rule run on monotonic time, so a step
 * of the master's wall clock cannot mark every slave lost.
 *
 * The node lifecycle:
 *   pending (no good check yet) → ok ⇄ over_threshold; any of them → lost when no check finished
 *   for 3 of the node's own intervals (it says its interval in its Report) → back on its next
 *   check; forgotten (removed) when lost for `forgetAfterNs`.
 *
 * Two hosts under one --name (cloned VMs and containers share host names) are told apart: when a
 * name's checks come from one address, then another, then the first again while it is still alive,
 * the addresses interleave; the fleet reports a name conflict, forgets the merged node (its history
 * mixes two clocks) and from then on keeps one node per address, named `name@host:port`.
 */
import type { Instant, Nanos, OffsetNs } from '../clock/clock.js';
import type { Estimate } from '../estimate/check.js';
import { type Frequency, addFrequencies } from '../estimate/frequency.js';
import { type Combined, OffsetHistory, type OffsetHistoryOptions } from '../estimate/history.js';
import type { FinishedCheck, Verdict } from '../protocol/responder.js';
import { formatHostPort } from '../util/parse.js';
import { DriftRateAlarm, type DriftRateAlarmOptions, type DriftRateEvent } from './drift-rate.js';
import { OffsetSeries, type OffsetSeriesOptions } from './series.js';
import { DEFAULT_REALERT_NS, ThresholdAlarm, type ThresholdEvent } from './threshold.js';

/** One explicit state per node, shown identically in /status, /metrics, the dashboard and `saturn status`. */
export const NODE_STATES = ['pending', 'ok', 'over_threshold', 'falseticker', 'lost'] as const;
export type NodeStateName = (typeof NODE_STATES)[number];

/** A moment of a node's life worth marking on its plot. */
export interface NodeMark {
  /** Wall instant (master clock). */
  at: Nanos;
  kind: 'drift' | 'recovered' | 'lost' | 'back';
}

/** Marks kept per node (the newest). */
export const MAX_MARKS = 32;

/**
 * The longest check interval a node may have (--interval), and what the master believes of the
 * interval a Report declares: a node is lost after 3 of its intervals and its peer reports count
 * for as long, so an unbounded claim would keep a silent (or invented) node voting for days.
 */
export const MAX_INTERVAL_NS = 3600e9;

/**
 * The shortest check interval a node may have (--interval). A slave opens a check with its master
 * every interval (less 10% jitter), and a master takes at most --source-check-rate (default 50)
 * check openings a second from one address: at 10 ms one slave alone was rate-limited, and lost
 * and back every few seconds. At 100 ms a slave opens at most 11 a second.
 */
export const MIN_INTERVAL_NS = 100e6;

/**
 * A declared interval (> 0; a Report saying 0 keeps the node's interval) as the master takes it:
 * within MIN_INTERVAL_NS and MAX_INTERVAL_NS (a Report claiming 1 ns would have its node lost, and back,
 * at every sweep: two events a check for anyone holding the key).
 */
const declaredInterval = (ns: number) => Math.min(Math.max(ns, MIN_INTERVAL_NS), MAX_INTERVAL_NS);

/** Everything the master knows about one slave. */
export interface NodeState {
  /** The node's name, or `name@host:port` once its name was found shared by several hosts. */
  readonly id: string;
  /** The name the slave reports (its --name). */
  readonly name: string;
  ip: string;
  port: number;
  /** The node's own check interval (as its Report says, else the master's), ns. */
  intervalNs: number;
  checks: number;
  discarded: number;
  /** Wall instant of the last good check (shown to operators). */
  lastCheckAt: Nanos | undefined;
  /** Monotonic instant of the last finished check, good or discarded: the node is alive. */
  lastSeenMono: Nanos;
  /** No check finished for 3 of its intervals; announced once until the node is back. */
  lost: boolean;
  /** The node's combined estimate (history of checks) after its last good check. */
  current: Combined | undefined;
  /** Monotonic instant of the last good check: `current` holds at it. */
  checkedMono: Nanos | undefined;
  /** The last good check on its own. */
  lastCheck: Estimate | undefined;
  readonly history: OffsetHistory;
  readonly alarm: ThresholdAlarm;
  /** Raised while the node's proven frequency is too fast, or carries it over the threshold soon. */
  readonly driftRate: DriftRateAlarm;
  /** The combined estimates of the last hour, for the dashboard. */
  readonly series: OffsetSeries;
  /** The address this name was seen at before the current one, while that may still be alive. */
  previous: { addr: string; lastSeenMono: Nanos } | undefined;
  /**
   * A new address this name was heard from while its current one is alive: a move, or another
   * host with the same name. Its checks are held (not folded in) until the next check for the
   * name says which: from the new address again (a move), or from the current one (a conflict).
   */
  pendingMove: { addr: string; atMono: Nanos } | undefined;
  /** Recent drift, recovery, loss and return, oldest first (at most MAX_MARKS). */
  readonly marks: NodeMark[];
  /** When the node was first heard of (monotonic): the mesh's grace period counts from it. */
  readonly firstSeenMono: Nanos;
  /** The reference its last alarm evaluation used. */
  reference: DriftReference['kind'];
  /** The mesh's verdict on it, once there is one. */
  mesh: MeshView | undefined;
}

/** The record of a check that gives no verdict (discarded, or held): nothing judged. */
function noVerdict(node: NodeState, back: boolean, conflict: NameConflict | undefined): CheckRecord {
  return {
    node,
    verdict: undefined,
    alarm: undefined,
    judged: undefined,
    driftRate: undefined,
    rate: undefined,
    back,
    conflict,
  };
}

function mark(node: NodeState, kind: NodeMark['kind'], at: Nanos): void {
  node.marks.push({ at, kind });
  if (node.marks.length > MAX_MARKS) node.marks.shift();
}

/** The state a node is in now. */
export function stateOf(node: NodeState): NodeStateName {
  if (node.lost) return 'lost';
  if (node.current === undefined) return 'pending';
  if (node.mesh?.falseticker) return 'falseticker';
  return node.alarm.over ? 'over_threshold' : 'ok';
}

/**
 * What the drift rule judges a node's offset against. `master`: the offset as measured (node −
 * master). `agreed`: the mesh's agreed time, offset − agreedOffset (whose own error widens the
 * bound): used while a majority agrees, so a wrong master does not page for every slave; the
 * drift rate is then judged against the agreed time too, once the master's own frequency
 * relative to it is known (`masterFrequency`, master − agreed). `hold`: the mesh cannot judge yet
 * (a fleet that just started); the first alarm waits.
 */
export type DriftReference =
  | { readonly kind: 'master' }
  | {
      readonly kind: 'agreed';
      readonly agreedOffsetNs: number;
      readonly agreedErrorNs: number;
      readonly masterFrequency: Frequency | undefined;
    }
  | { readonly kind: 'hold' };

/**
 * A node's frequency relative to the agreed time: its frequency relative to the master plus the
 * master's relative to the agreed time; undefined unless both are known.
 */
export function frequencyVsAgreed(node: NodeState, masterFrequency: Frequency | undefined): Frequency | undefined {
  const own = node.current?.frequency;
  return own && masterFrequency && addFrequencies(own, masterFrequency);
}

/** The mesh's last word on a node (kept on the node between evaluations). */
export interface MeshView {
  readonly falseticker: boolean;
  /** Node clock − agreed time, and its bound; undefined without a majority. */
  readonly consensusOffsetNs: number | undefined;
  readonly consensusErrorNs: number | undefined;
  /** Paths the node's estimate had, and those that missed it (`direct` or a peer id). */
  readonly paths: number;
  readonly disagreeing: readonly string[];
}

const MASTER_REFERENCE: DriftReference = { kind: 'master' };

/** The node's address as events and pages show it. */
export function addrOf(node: Pick<NodeState, 'ip' | 'port'>): string {
  return formatHostPort({ host: node.ip, port: node.port });
}

/** How many of a node's intervals of silence make it lost. */
export const LOST_AFTER_INTERVALS = 3;
/** A node lost for this long is forgotten (--forget-after). */
export const DEFAULT_FORGET_AFTER_NS = 24 * 3600e9;

/**
 * The default of FleetOptions.maxNodes. A node costs the master a few KB (history, series, its
 * metrics), so this bounds the fleet's memory and the size of /metrics, which invented node
 * names would otherwise grow without end.
 */
export const DEFAULT_MAX_NODES = 100_000;

export interface FleetOptions extends OffsetHistoryOptions, Pick<DriftRateAlarmOptions, 'maxDriftPpm' | 'predictNs'> {
  thresholdNs: number;
  /** Default DEFAULT_REALERT_NS (10 min). */
  realertNs?: number;
  /** The master's --interval, used for a node that does not say its own. */
  intervalNs: number;
  /** A node silent this long is forgotten (default DEFAULT_FORGET_AFTER_NS). */
  forgetAfterNs?: number;
  series?: OffsetSeriesOptions;
  /** Most nodes kept (default DEFAULT_MAX_NODES); see admits(). */
  maxNodes?: number;
}

/** Two hosts found reporting one name. */
export interface NameConflict {
  name: string;
  /** Their addresses, the one that just checked first. */
  addrs: [string, string];
  /** The node that mixed both, now forgotten; its alerts are void. */
  merged: NodeState;
}

/** What the drift-rate rule judged: the offset and frequency against the node's reference (the master, or the agreed time). */
export interface RateJudged {
  offsetNs: number;
  errorNs: number;
  frequency: Frequency;
}

/** What a finished check changed, for the caller to log and alert on. */
export interface CheckRecord {
  node: NodeState;
  verdict: Verdict | undefined;
  alarm: ThresholdEvent | undefined;
  /**
   * What the threshold rule judged: the offset and error against the node's reference (the master,
   * or the agreed time while a majority agrees): the numbers a drift or recovered event quotes.
   */
  judged: { offsetNs: OffsetNs; errorNs: number; reference: DriftReference['kind'] } | undefined;
  driftRate: DriftRateEvent | undefined;
  /** What the drift-rate rule judged, when it judged (the numbers a drift_rate event quotes). */
  rate: RateJudged | undefined;
  /** The node had been lost and is heard of again. */
  back: boolean;
  /** This check revealed that two hosts share its name. */
  conflict: NameConflict | undefined;
  /**
   * The check came from a new address while the node's current one is alive: held, not folded
   * in, until the name's next check confirms the move or reveals two hosts (pendingMove).
   */
  unconfirmed?: true;
}

/** What a sweep found. */
export interface SweepResult {
  /** Nodes that became lost. */
  lost: NodeState[];
  /** Nodes silent for longer than forgetAfterNs, now removed. */
  forgotten: NodeState[];
}

/** Per-slave state on the master. */
export class Fleet {
  private readonly nodes = new Map<string, NodeState>();
  /** Names found shared by several hosts: their nodes are keyed by name@address. */
  private readonly sharedNames = new Set<string>();
  private readonly options: FleetOptions;
  private readonly forgetAfterNs: bigint;
  private readonly maxNodes: number;
  #membership = 0;

  constructor(options: FleetOptions) {
    if (!(Number.isFinite(options.intervalNs) && options.intervalNs > 0)) {
      throw new RangeError(`intervalNs must be > 0, got ${options.intervalNs}`);
    }
    const forgetAfterNs = options.forgetAfterNs ?? DEFAULT_FORGET_AFTER_NS;
    if (!(forgetAfterNs > 0)) throw new RangeError(`forgetAfterNs must be > 0, got ${forgetAfterNs}`);
    this.options = options;
    this.forgetAfterNs = BigInt(Math.round(forgetAfterNs));
    this.maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
    if (!(Number.isInteger(this.maxNodes) && this.maxNodes >= 1))
      throw new RangeError(`maxNodes must be an integer >= 1, got ${options.maxNodes}`);
  }

  /**
   * The fleet's bound, as a rule the master applies before it opens a check and again before it
   * records one: a check of `name` from `addr` that lands on a known node is always admitted,
   * one that would make a new node (a new name, or a shared name from a new address) only while
   * the fleet has room.
   */
  admits(name: string, addr: string): boolean {
    const id = this.sharedNames.has(name) ? `${name}@${addr}` : name;
    return this.nodes.has(id) || this.nodes.size < this.maxNodes;
  }

  /** All known nodes, in order of first appearance. */
  all(): NodeState[] {
    return [...this.nodes.values()];
  }

  /**
   * Changes whenever the set of live nodes or an address does (a node new, lost, back, moved or
   * forgotten): a cheap test for whatever is built from the live set (the mesh's peer ring).
   */
  get membership(): number {
    return this.#membership;
  }

  get(id: string): NodeState | undefined {
    return this.nodes.get(id);
  }

  get size(): number {
    return this.nodes.size;
  }

  /**
   * Folds one finished check into its node's history and alarm; `reference(node)` says what the
   * drift rule judges it against (default: the master).
   */
  record(check: FinishedCheck, reference: (node: NodeState) => DriftReference = () => MASTER_REFERENCE): CheckRecord {
    const addr = formatHostPort({ host: check.ip, port: check.port });
    const conflict = this.detectConflict(check.nodeId, addr, check.at.mono);
    const node = this.nodeFor(check, addr);
    if (addrOf(node) !== addr) {
      // A first check from a new address while the current one is alive may be another host that
      // took the name: folded in, it would page for (and get named) the host that owns it.
      const alive = !node.lost && check.at.mono - node.lastSeenMono < lostAfterNs(node);
      if (alive && node.pendingMove?.addr !== addr) {
        node.pendingMove = { addr, atMono: check.at.mono };
        return { ...noVerdict(node, false, conflict), unconfirmed: true };
      }
      node.previous = { addr: addrOf(node), lastSeenMono: node.lastSeenMono };
      this.#membership++;
    }
    node.pendingMove = undefined;
    node.ip = check.ip;
    node.port = check.port;
    if (check.intervalNs > 0) node.intervalNs = declaredInterval(check.intervalNs);
    const back = node.lost;
    node.lost = false;
    if (back) this.#membership++;
    if (back) mark(node, 'back', check.at.wall);
    if (check.at.mono > node.lastSeenMono) node.lastSeenMono = check.at.mono;
    if (!check.outcome.ok) {
      node.discarded++;
      return noVerdict(node, back, conflict);
    }
    const estimate = check.outcome.estimate;
    const combined = node.history.add(check.at.mono, estimate);
    node.checks++;
    node.lastCheckAt = check.at.wall;
    node.current = combined;
    node.checkedMono = check.at.mono;
    node.lastCheck = estimate;
    node.series.add({ at: check.at.wall, offsetNs: combined.offsetNs, errorNs: combined.errorNs });
    const judged = reference(node);
    node.reference = judged.kind;
    const against =
      judged.kind === 'agreed'
        ? {
            offsetNs: combined.offsetNs - judged.agreedOffsetNs,
            errorNs: combined.errorNs + judged.agreedErrorNs,
            reference: judged.kind,
          }
        : { offsetNs: combined.offsetNs, errorNs: combined.errorNs, reference: judged.kind };
    const alarm =
      judged.kind === 'hold' ? undefined : node.alarm.evaluate(check.at.mono, against.offsetNs, against.errorNs);
    if (alarm === 'drift' || alarm === 'recovered') mark(node, alarm, check.at.wall);
    const rate = rateAgainst(combined, judged);
    const driftRate = rate && node.driftRate.evaluate(check.at.mono, rate.offsetNs, rate.errorNs, rate.frequency);
    const verdict = {
      offsetNs: combined.offsetNs,
      errorNs: combined.errorNs,
      rttNs: combined.rttNs,
      samples: estimate.kept,
    };
    return { node, verdict, alarm, judged: against, driftRate, rate, back, conflict };
  }

  /** Nodes that became lost, and nodes forgotten, at `now`. */
  sweep(now: Instant): SweepResult {
    const nowMono = now.mono;
    const lost: NodeState[] = [];
    const forgotten: NodeState[] = [];
    for (const node of this.nodes.values()) {
      const silentNs = nowMono - node.lastSeenMono;
      if (silentNs >= this.forgetAfterNs) {
        forgotten.push(node);
        this.nodes.delete(node.id);
        this.#membership++;
        continue;
      }
      if (node.lost || silentNs < lostAfterNs(node)) continue;
      node.lost = true;
      this.#membership++;
      mark(node, 'lost', now.wall);
      lost.push(node);
    }
    return { lost, forgotten };
  }

  /**
   * A check of `name` from `addr` while the name's node last checked from another address, and
   * that other address checked before the current one and is still alive: two hosts interleave.
   * A single change of address (a move, a restart on another port) is not a conflict.
   */
  private detectConflict(name: string, addr: string, nowMono: Nanos): NameConflict | undefined {
    if (this.sharedNames.has(name)) return undefined;
    const node = this.nodes.get(name);
    if (!node) return undefined;
    // Back at the current address while a new one is pending: two hosts (A, B, A).
    const pending = node.pendingMove;
    const other =
      addrOf(node) === addr
        ? pending && nowMono - pending.atMono < lostAfterNs(node)
          ? pending.addr
          : undefined
        : // At the previous address after a move, while that one may still be alive (A, B, B, A).
          node.previous?.addr === addr && nowMono - node.previous.lastSeenMono < lostAfterNs(node)
          ? addrOf(node)
          : undefined;
    if (other === undefined) return undefined;
    this.sharedNames.add(name);
    this.nodes.delete(name);
    this.#membership++;
    return { name, addrs: [addr, other], merged: node };
  }

  private nodeFor(check: FinishedCheck, addr: string): NodeState {
    const name = check.nodeId;
    const id = this.sharedNames.has(name) ? `${name}@${addr}` : name;
    let node = this.nodes.get(id);
    if (!node) {
      node = this.newNode(id, name, check, check.at);
      this.nodes.set(id, node);
      this.#membership++;
    }
    return node;
  }

  private newNode(id: string, name: string, check: FinishedCheck, at: Instant): NodeState {
    return {
      id,
      name,
      ip: check.ip,
      port: check.port,
      intervalNs: check.intervalNs > 0 ? declaredInterval(check.intervalNs) : this.options.intervalNs,
      checks: 0,
      discarded: 0,
      lastCheckAt: undefined,
      lastSeenMono: at.mono,
      lost: false,
      current: undefined,
      checkedMono: undefined,
      lastCheck: undefined,
      history: new OffsetHistory(this.options),
      alarm: new ThresholdAlarm({
        thresholdNs: this.options.thresholdNs,
        realertNs: this.options.realertNs ?? DEFAULT_REALERT_NS,
      }),
      driftRate: new DriftRateAlarm({
        thresholdNs: this.options.thresholdNs,
        realertNs: this.options.realertNs ?? DEFAULT_REALERT_NS,
        maxDriftPpm: this.options.maxDriftPpm,
        predictNs: this.options.predictNs,
      }),
      series: new OffsetSeries(this.options.series),
      previous: undefined,
      pendingMove: undefined,
      marks: [],
      firstSeenMono: at.mono,
      reference: 'master',
      mesh: undefined,
    };
  }
}

/**
 * What the drift-rate rule judges: against the master, the node's offset and frequency as
 * measured; against the agreed time, both relative to it (a master whose clock drifts makes every
 * slave drift the other way against it, and must not page for them). Undefined (the alarm keeps
 * its state) while the mesh holds, while the node's frequency is unknown, or while the agreed
 * time's is.
 */
function rateAgainst(combined: Combined, judged: DriftReference): RateJudged | undefined {
  const own = combined.frequency;
  if (own === undefined || judged.kind === 'hold') return undefined;
  if (judged.kind === 'master') return { offsetNs: combined.offsetNs, errorNs: combined.errorNs, frequency: own };
  if (judged.masterFrequency === undefined) return undefined;
  return {
    offsetNs: combined.offsetNs - judged.agreedOffsetNs,
    errorNs: combined.errorNs + judged.agreedErrorNs,
    frequency: addFrequencies(own, judged.masterFrequency),
  };
}

/** Silence that makes a node lost: 3 of its own intervals. */
function lostAfterNs(node: NodeState): bigint {
  return BigInt(Math.round(LOST_AFTER_INTERVALS * node.intervalNs));
}
