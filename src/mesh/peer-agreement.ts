/**
 * A slave's own view of the mesh, CockroachDB's rule (RemoteClockMonitor): a node whose clock is
 * off from most of the peers it measured should say so, even when its master is unreachable.
 * Here a peer disagrees when the whole interval of the measured offset (node − peer) lies beyond
 * the mesh tolerance: |offset| − error > tolerance, so honest noise never counts. Pure.
 */
import type { OffsetNs } from '../clock/clock.js';

/** One fresh peer measurement: this node − the peer. */
export interface PeerMeasurement {
  readonly peerId: string;
  readonly offsetNs: OffsetNs;
  readonly errorNs: number;
}

export interface PeerAgreement {
  /** Peers whose measurement proves a disagreement beyond the tolerance. */
  readonly disagree: readonly string[];
  /** Fresh measurements considered. */
  readonly of: number;
  /** More than half of at least two peers disagree. */
  readonly mostlyDisagree: boolean;
}

/** How many of a node's fresh peer measurements disagree with it. */
export function peerAgreement(measurements: readonly PeerMeasurement[], toleranceNs: number): PeerAgreement {
  const disagree = measurements.filter((m) => Math.abs(m.offsetNs) - m.errorNs > toleranceNs).map((m) => m.peerId);
  const of = measurements.length;
  return { disagree, of, mostlyDisagree: of >= 2 && disagree.length * 2 > of };
}
