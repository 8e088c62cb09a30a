/**
 * The /status document: every node as the master sees it, in the units a dashboard or jq user
 * expects (seconds, ISO times). Pure: the nodes and the time come in. `saturn status` reads it.
 */
import type { Instant } from '../clock/clock.js';
import {
  type DriftReference,
  type MeshView,
  type NodeState,
  type NodeStateName,
  addrOf,
  frequencyVsAgreed,
  stateOf,
} from '../fleet/fleet.js';
import type { Frequency } from '../estimate/frequency.js';
import type { Consensus } from '../mesh/consensus.js';

/** One node as /status shows it. */
export interface NodeStatus {
  /** The node's id: its name, or name@host:port when two hosts share the name. */
  id: string;
  name: string;
  addr: string;
  /** `master` for the master itself (listed with --peers on, as the mesh judges it too), else `slave`. */
  role: 'master' | 'slave';
  /** pending (no good check yet), ok, over_threshold, falseticker or lost. */
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
  /**
   * The node's frequency relative to the agreed time (node − agreed, ppm; for the master its own),
   * and its bound: its frequency relative to the master plus the master's relative to the agreed
   * time. Null without a majority, or while either is unknown.
   */
  frequencyVsAgreedPpm: number | null;
  frequencyVsAgreedErrorPpm: number | null;
  /** Its drift_rate alarm is raised: proven too fast, or heading over the threshold soon. */
  driftRateAlarm: boolean;
  /** What the threshold judged the offset against: `master`, `agreed` (the mesh's agreed time) or `hold` (waiting for the mesh). */
  reference: DriftReference['kind'];
  /** The mesh names this node's clock as wrong (outside the agreed time). */
  falseticker: boolean;
  /** The node's clock − the agreed time, and its bound (null without a majority or with the mesh off). */
  consensusOffsetSeconds: number | null;
  consensusErrorSeconds: number | null;
  /** The node's paths in the mesh (its own check, one per peer edge), and those that missed its estimate (`direct` or a peer id). */
  meshPaths: number;
  disagreeingPaths: string[];
}

/** The mesh's vote, as /status shows it. */
export interface MeshStatus {
  /** --peers: 0 = the mesh is off (and the rest is empty). */
  peers: number;
  /** Nodes named as wrong (the master among them, under its --name). */
  falsetickers: string[];
  /** How many nodes share a time (the largest group), of how many voted (the master included). */
  agree: number;
  of: number;
  /** A strict majority of at least 3 agrees: drift is judged against the agreed time. */
  majority: boolean;
  /** The agreed time − the master's clock (e.g. −0.5 when the master is 500 ms fast); null without a majority. */
  agreedOffsetSeconds: number | null;
}

/** What the master knows of itself and the mesh, for its own entry and the `mesh` section. */
export interface MeshInput {
  peers: number;
  consensus: Consensus | undefined;
  /** The nodes the mesh names (their falseticker events raised, not recovered), the master included. */
  named: readonly string[];
  /** The master: its --name, address, interval and clock resolution (its error bound), ns. */
  master: { id: string; addr: string; intervalNs: number; resolutionNs: number; view: MeshView | undefined };
  /** The master's frequency relative to the agreed time (master − agreed); undefined without a majority or until measured. */
  masterFrequency: Frequency | undefined;
}

export interface StatusDocument {
  nodes: NodeStatus[];
  mesh: MeshStatus;
  drops: Record<string, number>;
}

const seconds = (ns: number | undefined) => (ns === undefined ? null : ns / 1e9);

function meshFields(view: MeshView | undefined) {
  return {
    falseticker: view?.falseticker ?? false,
    consensusOffsetSeconds: seconds(view?.consensusOffsetNs),
    consensusErrorSeconds: seconds(view?.consensusErrorNs),
    meshPaths: view?.paths ?? 0,
    disagreeingPaths: [...(view?.disagreeing ?? [])],
  };
}

/** A frequency as /status shows it: ppm and the half-width of its bound, or nulls. */
function frequencyFields(frequency: Frequency | undefined): [ppm: number | null, errorPpm: number | null] {
  return frequency ? [frequency.ppm, (frequency.hiPpm - frequency.loPpm) / 2] : [null, null];
}

/** One node's entry; `masterFrequency` is the master's relative to the agreed time (MeshInput). */
export function nodeStatus(n: NodeState, now: Instant, masterFrequency?: Frequency): NodeStatus {
  const [frequencyPpm, frequencyErrorPpm] = frequencyFields(n.current?.frequency);
  const [frequencyVsAgreedPpm, frequencyVsAgreedErrorPpm] = frequencyFields(frequencyVsAgreed(n, masterFrequency));
  return {
    id: n.id,
    name: n.name,
    addr: addrOf(n),
    role: 'slave',
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
    frequencyPpm,
    frequencyErrorPpm,
    frequencyVsAgreedPpm,
    frequencyVsAgreedErrorPpm,
    driftRateAlarm: n.driftRate.raised,
    reference: n.reference,
    ...meshFields(n.mesh),
  };
}

/** The master's own entry: offset 0 from itself ± its resolution; the mesh may still name it. */
export function masterStatus(master: MeshInput['master'], masterFrequency?: Frequency): NodeStatus {
  const [frequencyVsAgreedPpm, frequencyVsAgreedErrorPpm] = frequencyFields(masterFrequency);
  return {
    id: master.id,
    name: master.id,
    addr: master.addr,
    role: 'master',
    state: master.view?.falseticker ? 'falseticker' : 'ok',
    offsetSeconds: 0,
    errorSeconds: master.resolutionNs / 1e9,
    rttSeconds: 0,
    checks: 0,
    discarded: 0,
    lastCheckAt: null,
    lastSeenSecondsAgo: 0,
    intervalSeconds: master.intervalNs / 1e9,
    overThreshold: false,
    // Its own frequency is its reference's: nothing to measure.
    frequencyPpm: null,
    frequencyErrorPpm: null,
    frequencyVsAgreedPpm,
    frequencyVsAgreedErrorPpm,
    driftRateAlarm: false,
    reference: 'master',
    ...meshFields(master.view),
  };
}

/** The `mesh` section. */
export function meshStatus(mesh: MeshInput | undefined): MeshStatus {
  const c = mesh?.consensus;
  return {
    peers: mesh?.peers ?? 0,
    falsetickers: [...(mesh?.named ?? [])],
    agree: c?.agree ?? 0,
    of: c?.of ?? 0,
    majority: c?.majority ?? false,
    agreedOffsetSeconds: c?.agreed ? (c.agreed.loNs + c.agreed.hiNs) / 2e9 : null,
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

/** The /status document for a set of nodes, the mesh (the master listed first while the mesh is on) and the master's drop counts. */
export function statusDocument(
  nodes: readonly NodeState[],
  now: Instant,
  drops: Record<string, number> = {},
  mesh?: MeshInput,
): StatusDocument {
  const listed = nodes.map((n) => nodeStatus(n, now, mesh?.masterFrequency));
  if (mesh && mesh.peers > 0) listed.unshift(masterStatus(mesh.master, mesh.masterFrequency));
  return { nodes: listed, mesh: meshStatus(mesh), drops };
}
