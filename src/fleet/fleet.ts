import type { Nanos } from '../clock/clock.js';
import { DEFAULT_REALERT_NS, ThresholdAlarm, type ThresholdEvent } from './threshold.js';
import type { Estimate } from '../estimate/check.js';
import { type Combined, OffsetHistory, type OffsetHistoryOptions } from '../estimate/history.js';
import type { FinishedCheck, Verdict } from '../protocol/responder.js';

/** Everything the master knows about one slave. */
export interface NodeState {
  id: string;
  ip: string;
  port: number;
  checks: number;
  discarded: number;
  lastCheckAt: Nanos | undefined;
  /** The node's combined estimate (history of checks) after its last good check. */
  current: Combined | undefined;
  /** The last good check on its own. */
  lastCheck: Estimate | undefined;
  history: OffsetHistory;
  alarm: ThresholdAlarm;
}

export interface FleetOptions extends OffsetHistoryOptions {
  thresholdNs: number;
  realertNs?: number;
}

/** What a finished check changed, for the caller to log and alert on. */
export interface CheckRecord {
  node: NodeState;
  verdict: Verdict | undefined;
  alarm: ThresholdEvent | undefined;
}

/** Per-slave history and alarm state on the master; pure state, fed finished checks. */
export class Fleet {
  private readonly nodes = new Map<string, NodeState>();
  private readonly options: FleetOptions;

  constructor(options: FleetOptions) {
    this.options = options;
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
    const node = this.nodeFor(check);
    node.ip = check.ip;
    node.port = check.port;
    if (!check.outcome.ok) {
      node.discarded++;
      return { node, verdict: undefined, alarm: undefined };
    }
    const estimate = check.outcome.estimate;
    const combined = node.history.add(check.at, estimate);
    node.checks++;
    node.lastCheckAt = check.at;
    node.current = combined;
    node.lastCheck = estimate;
    const alarm = node.alarm.evaluate(check.at, combined.offsetNs, combined.errorNs);
    return {
      node,
      verdict: {
        offsetNs: combined.offsetNs,
        errorNs: combined.errorNs,
        rttNs: combined.rttNs,
        samples: estimate.kept,
      },
      alarm,
    };
  }

  private nodeFor(check: FinishedCheck): NodeState {
    let node = this.nodes.get(check.nodeId);
    if (!node) {
      node = {
        id: check.nodeId,
        ip: check.ip,
        port: check.port,
        checks: 0,
        discarded: 0,
        lastCheckAt: undefined,
        current: undefined,
        lastCheck: undefined,
        history: new OffsetHistory(this.options),
        alarm: new ThresholdAlarm({
          thresholdNs: this.options.thresholdNs,
          realertNs: this.options.realertNs ?? DEFAULT_REALERT_NS,
        }),
      };
      this.nodes.set(check.nodeId, node);
    }
    return node;
  }
}
