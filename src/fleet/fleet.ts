/**
 * The master's knowledge of its slaves: one NodeState per node with everything about it (its
 * history of checks, its threshold alarm, when it was last heard of, its series for the plot).
 * Pure state: fed finished checks and the time of sweeps, it says what changed and leaves the
 * events, logs and metrics to its caller. Ages and the lost rule run on monotonic time, so a step
 * of the master's wall clock cannot mark every slave lost.
 */
import type { Instant, Nanos } from '../clock/clock.js';
import type { Estimate } from '../estimate/check.js';
import { type Combined, OffsetHistory, type OffsetHistoryOptions } from '../estimate/history.js';
import type { FinishedCheck, Verdict } from '../protocol/responder.js';
import { OffsetSeries, type OffsetSeriesOptions } from './series.js';
import { DEFAULT_REALERT_NS, ThresholdAlarm, type ThresholdEvent } from './threshold.js';

/** Everything the master knows about one slave. */
export interface NodeState {
  readonly id: string;
  ip: string;
  port: number;
  checks: number;
  discarded: number;
  /** Wall instant of the last good check (shown to operators). */
  lastCheckAt: Nanos | undefined;
  /** Monotonic instant of the last finished check, good or discarded: the node is alive. */
  lastSeenMono: Nanos;
  /** No check finished for `lostAfterNs`; announced once until the node is back. */
  lost: boolean;
  /** The node's combined estimate (history of checks) after its last good check. */
  current: Combined | undefined;
  /** The last good check on its own. */
  lastCheck: Estimate | undefined;
  readonly history: OffsetHistory;
  readonly alarm: ThresholdAlarm;
  /** The combined estimates of the last hour, for the dashboard. */
  readonly series: OffsetSeries;
}

/** How many intervals of silence make a slave lost. */
export const LOST_AFTER_INTERVALS = 3;

/**
 * The default of FleetOptions.maxNodes. A node costs the master a few KB (history, series, its
 * metrics), so this bounds the fleet's memory and the size of /metrics, which invented node
 * names would otherwise grow without end.
 */
export const DEFAULT_MAX_NODES = 100_000;

export interface FleetOptions extends OffsetHistoryOptions {
  thresholdNs: number;
  /** Default DEFAULT_REALERT_NS (10 min). */
  realertNs?: number;
  /** A node with no finished check for this long is lost (e.g. 3 intervals). */
  lostAfterNs: number;
  series?: OffsetSeriesOptions;
  /** Most nodes kept (default DEFAULT_MAX_NODES); see admits(). */
  maxNodes?: number;
}

/** What a finished check changed, for the caller to log and alert on. */
export interface CheckRecord {
  node: NodeState;
  verdict: Verdict | undefined;
  alarm: ThresholdEvent | undefined;
  /** The node had been lost and is heard of again. */
  back: boolean;
}

/** Per-slave state on the master. */
export class Fleet {
  private readonly nodes = new Map<string, NodeState>();
  private readonly options: FleetOptions;
  private readonly lostAfterNs: bigint;
  private readonly maxNodes: number;

  constructor(options: FleetOptions) {
    if (!(Number.isFinite(options.lostAfterNs) && options.lostAfterNs > 0)) {
      throw new RangeError(`lostAfterNs must be > 0, got ${options.lostAfterNs}`);
    }
    this.options = options;
    this.lostAfterNs = BigInt(Math.round(options.lostAfterNs));
    this.maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
    if (!(Number.isInteger(this.maxNodes) && this.maxNodes >= 1))
      throw new RangeError(`maxNodes must be an integer >= 1, got ${options.maxNodes}`);
  }

  /**
   * The fleet's bound, as a rule the master applies before it opens a check and again before it
   * records one: a known node is always admitted, a new one only while the fleet has room.
   */
  admits(id: string): boolean {
    return this.nodes.has(id) || this.nodes.size < this.maxNodes;
  }

  /** All known nodes, in order of first appearance. */
  all(): NodeState[] {
    return [...this.nodes.values()];
  }

  get(id: string): NodeState | undefined {
    return this.nodes.get(id);
  }

  /** Folds one finished check into its node's history and alarm. */
  record(check: FinishedCheck): CheckRecord {
    const node = this.nodeFor(check.nodeId, check.ip, check.port, check.at);
    node.ip = check.ip;
    node.port = check.port;
    const back = node.lost;
    node.lost = false;
    if (check.at.mono > node.lastSeenMono) node.lastSeenMono = check.at.mono;
    if (!check.outcome.ok) {
      node.discarded++;
      return { node, verdict: undefined, alarm: undefined, back };
    }
    const estimate = check.outcome.estimate;
    const combined = node.history.add(check.at.wall, estimate);
    node.checks++;
    node.lastCheckAt = check.at.wall;
    node.current = combined;
    node.lastCheck = estimate;
    node.series.add({ at: check.at.wall, offsetNs: combined.offsetNs, errorNs: combined.errorNs });
    const alarm = node.alarm.evaluate(check.at.mono, combined.offsetNs, combined.errorNs);
    const verdict = {
      offsetNs: combined.offsetNs,
      errorNs: combined.errorNs,
      rttNs: combined.rttNs,
      samples: estimate.kept,
    };
    return { node, verdict, alarm, back };
  }

  /** The nodes that became lost by monotonic instant `nowMono` since the last sweep. */
  sweep(nowMono: Nanos): NodeState[] {
    const lost: NodeState[] = [];
    for (const node of this.nodes.values()) {
      if (node.lost || nowMono - node.lastSeenMono < this.lostAfterNs) continue;
      node.lost = true;
      lost.push(node);
    }
    return lost;
  }

  private nodeFor(id: string, ip: string, port: number, at: Instant): NodeState {
    let node = this.nodes.get(id);
    if (!node) {
      node = {
        id,
        ip,
        port,
        checks: 0,
        discarded: 0,
        lastCheckAt: undefined,
        lastSeenMono: at.mono,
        lost: false,
        current: undefined,
        lastCheck: undefined,
        history: new OffsetHistory(this.options),
        alarm: new ThresholdAlarm({
          thresholdNs: this.options.thresholdNs,
          realertNs: this.options.realertNs ?? DEFAULT_REALERT_NS,
        }),
        series: new OffsetSeries(this.options.series),
      };
      this.nodes.set(id, node);
    }
    return node;
  }
}
