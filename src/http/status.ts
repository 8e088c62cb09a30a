import type { NodeState } from '../fleet/fleet.js';
import { formatHostPort } from '../util/parse.js';

/** One node as /status shows it (seconds, ISO times: the units a dashboard or jq user expects). */
export interface NodeStatus {
  id: string;
  addr: string;
  offsetSeconds: number | null;
  errorSeconds: number | null;
  rttSeconds: number | null;
  checks: number;
  discarded: number;
  lastCheckAt: string | null;
  /** Proven over the threshold (|offset| - error > threshold) since its last alert. */
  overThreshold: boolean;
}

/** The /status document for a set of nodes and the master's drop counts (pure). */
export function statusDocument(
  nodes: readonly NodeState[],
  drops: Record<string, number> = {},
): { nodes: NodeStatus[]; drops: Record<string, number> } {
  return {
    drops,
    nodes: nodes.map((n) => ({
      id: n.id,
      addr: formatHostPort({ host: n.ip, port: n.port }),
      offsetSeconds: n.current ? n.current.offsetNs / 1e9 : null,
      errorSeconds: n.current ? n.current.errorNs / 1e9 : null,
      rttSeconds: n.current ? n.current.rttNs / 1e9 : null,
      checks: n.checks,
      discarded: n.discarded,
      lastCheckAt: n.lastCheckAt === undefined ? null : new Date(Number(n.lastCheckAt / 1_000_000n)).toISOString(),
      overThreshold: n.alarm.over,
    })),
  };
}
