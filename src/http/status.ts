/**
 * The /status document: every node as the master sees it, in the units a dashboard or jq user
 * expects (seconds, ISO times). Pure: the nodes and the time come in. `saturn status` reads it.
 */
import type { Instant } from '../clock/clock.js';
import { type NodeState, type NodeStateName, addrOf, stateOf } from '../fleet/fleet.js';

/** One node as /status shows it. */
export interface NodeStatus {
  /** The node's id: its name, or name@host:port when two hosts share the name. */
  id: string;
  name: string;
  addr: string;
  /** pending (no good check yet), ok, over_threshold or lost. */
  state: NodeStateName;
  /** The last combined estimate (kept while lost, as the last known value; `state` says whether it is current). */
  offsetSeconds: number | null;
  errorSeconds: number | null;
  rttSeconds: number | null;
  checks: number;
  discarded: number;
  /** Wall time (master clock) of the last good check. */
  lastCheckAt: string | null;
  /** How long ago the last check (good or discarded) finished, by the master's monotonic clock. */
  lastSeenSecondsAgo: number;
  /** The node's check interval (as it says), seconds. */
  intervalSeconds: number;
  /** Proven over the threshold (|offset| - error > threshold) since its last alert. */
  overThreshold: boolean;
  /** The node's frequency (node − master), ppm: how fast its offset grows; null while unknown. */
  frequencyPpm: number | null;
  /** Its error bound: the frequency is within frequencyPpm ± this (as long as it wanders less than the model allows). */
  frequencyErrorPpm: number | null;
  /** Its drift_rate alarm is raised: proven too fast, or heading over the threshold soon. */
  driftRateAlarm: boolean;
}

export interface StatusDocument {
  nodes: NodeStatus[];
  drops: Record<string, number>;
}

/** One node's entry. */
export function nodeStatus(n: NodeState, now: Instant): NodeStatus {
  const frequency = n.current?.frequency;
  return {
    id: n.id,
    name: n.name,
    addr: addrOf(n),
    state: stateOf(n),
    offsetSeconds: n.current ? n.current.offsetNs / 1e9 : null,
    errorSeconds: n.current ? n.current.errorNs / 1e9 : null,
    rttSeconds: n.current ? n.current.rttNs / 1e9 : null,
    checks: n.checks,
    discarded: n.discarded,
    lastCheckAt: n.lastCheckAt === undefined ? null : new Date(Number(n.lastCheckAt / 1_000_000n)).toISOString(),
    lastSeenSecondsAgo: Math.max(0, Math.round(Number(now.mono - n.lastSeenMono) / 1e6) / 1e3),
    intervalSeconds: n.intervalNs / 1e9,
    overThreshold: n.alarm.over,
    frequencyPpm: frequency ? frequency.ppm : null,
    frequencyErrorPpm: frequency ? (frequency.hiPpm - frequency.loPpm) / 2 : null,
    driftRateAlarm: n.driftRate.raised,
  };
}

const SEVERITY: Record<NodeStateName, number> = { falseticker: 0, over_threshold: 1, lost: 2, pending: 3, ok: 4 };

/** Orders nodes worst first: by state (falseticker, over threshold, lost, pending, ok), then by proven distance from 0 (|offset| − error). */
export function worstFirst(a: NodeStatus, b: NodeStatus): number {
  const bySeverity = SEVERITY[a.state] - SEVERITY[b.state];
  if (bySeverity !== 0) return bySeverity;
  const proven = (n: NodeStatus) =>
    n.offsetSeconds === null ? -Infinity : Math.abs(n.offsetSeconds) - (n.errorSeconds ?? 0);
  return proven(b) - proven(a) || a.id.localeCompare(b.id);
}

/** The /status document for a set of nodes and the master's drop counts. */
export function statusDocument(
  nodes: readonly NodeState[],
  now: Instant,
  drops: Record<string, number> = {},
): StatusDocument {
  return { drops, nodes: nodes.map((n) => nodeStatus(n, now)) };
}
