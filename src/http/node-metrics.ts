/**
 * The master's metric families with a series per node (saturn_node_*, and the mesh's per-node
 * verdicts), written as text (text-exposition.ts). A lost node's offset, error bound, last-check
 * and frequency gauges are not exported: they would be last values passed off as current; its
 * state (`saturn_node_state`, `saturn_node_up`) says what is known.
 */
import type { Frequency } from '../estimate/frequency.js';
import { NODE_STATES, type NodeState, addrOf, frequencyVsAgreed, stateOf } from '../fleet/fleet.js';
import type { MeshInput } from './status.js';
import { type TextFamily, type TextWriter, escapeLabelValue } from './text-exposition.js';

/** saturn_node_rtt_seconds buckets, seconds: 50 µs (loopback) to 1 s (a bad WAN). */
export const RTT_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** A node as one scrape writes it: its `node="…",addr="…"` label text, built once per scrape. */
interface NodeRow {
  readonly node: NodeState;
  readonly labels: string;
}

const nodeLabels = (id: string, addr: string) => `node="${escapeLabelValue(id)}",addr="${escapeLabelValue(addr)}"`;

/** A gauge or counter with at most one line per node row, `value` undefined for no line. */
function perNode(
  name: string,
  help: string,
  rows: () => readonly NodeRow[],
  value: (node: NodeState) => number | undefined,
  type: 'gauge' | 'counter' = 'gauge',
): TextFamily<NodeRow> {
  return {
    name,
    help,
    type,
    items: rows,
    write({ node, labels }, out) {
      const v = value(node);
      if (v !== undefined) out.sample(name, labels, v);
    },
  };
}

/**
 * The per-node families, in the order they are written. `nodes` is read once per scrape (the
 * first family's items()); `mesh` is absent when the mesh is off.
 */
export function nodeFamilies(
  nodes: () => readonly NodeState[],
  mesh: (() => MeshInput) | undefined,
): TextFamily<any>[] {
  let rows: readonly NodeRow[] = [];
  const snapshot = () => {
    rows = nodes().map((node) => ({ node, labels: nodeLabels(node.id, addrOf(node)) }));
    return rows;
  };
  const current = () => rows;
  // Current estimates: nodes with a good check that are not lost; the frequency of those that have one.
  const checked = (n: NodeState) => n.current !== undefined && !n.lost;
  const frequencyOf = (n: NodeState) => (checked(n) ? n.current!.frequency : undefined);
  const families: TextFamily<any>[] = [
    perNode(
      'saturn_node_up',
      '1 while the node checks in; 0 once it is lost (no check for 3 of its intervals).',
      snapshot,
      (n) => (n.lost ? 0 : 1),
    ),
    {
      name: 'saturn_node_state',
      help: 'The node state: 1 for the state it is in (pending, ok, over_threshold, falseticker, lost), 0 for the others.',
      type: 'gauge',
      items: current,
      write({ node, labels }: NodeRow, out: TextWriter) {
        const state = stateOf(node);
        for (const s of NODE_STATES) out.sample('saturn_node_state', `${labels},state="${s}"`, s === state ? 1 : 0);
      },
    },
    perNode(
      'saturn_node_offset_seconds',
      'Estimated clock offset of the node (node clock minus master clock).',
      current,
      (n) => (checked(n) ? n.current!.offsetNs / 1e9 : undefined),
    ),
    perNode(
      'saturn_node_error_bound_seconds',
      'Error bound of the offset estimate: the true offset is within offset +/- this.',
      current,
      (n) => (checked(n) ? n.current!.errorNs / 1e9 : undefined),
    ),
    perNode(
      'saturn_node_last_check_timestamp_seconds',
      "Unix time of the node's last good check (master clock).",
      current,
      (n) => (checked(n) ? Number(n.lastCheckAt!) / 1e9 : undefined),
    ),
    perNode(
      'saturn_node_over_threshold',
      '1 while the node is proven over the threshold (|offset| - error > threshold); not exported while it is lost.',
      current,
      (n) => (n.lost ? undefined : n.alarm.over ? 1 : 0),
    ),
    perNode(
      'saturn_node_frequency_ppm',
      'Frequency of the node relative to the master, in ppm: how fast its offset grows (positive: it runs fast).',
      current,
      (n) => frequencyOf(n)?.ppm,
    ),
    perNode(
      'saturn_node_frequency_error_bound_ppm',
      'Error bound of the frequency: it is within frequency +/- this, in ppm.',
      current,
      (n) => halfWidth(frequencyOf(n)),
    ),
  ];
  if (mesh) {
    // Relative to the agreed time: the master's own under its --name, then each node's; only while a majority agrees.
    let agreed: { labels: string; frequency: Frequency }[] = [];
    const vsAgreed = () => {
      const { master, masterFrequency } = mesh();
      agreed = [];
      if (masterFrequency === undefined) return agreed;
      agreed.push({ labels: nodeLabels(master.id, master.addr), frequency: masterFrequency });
      for (const { node, labels } of rows) {
        const frequency = checked(node) ? frequencyVsAgreed(node, masterFrequency) : undefined;
        if (frequency) agreed.push({ labels, frequency });
      }
      return agreed;
    };
    const agreedFamily = (name: string, help: string, items: () => typeof agreed, value: (f: Frequency) => number) => ({
      name,
      help,
      type: 'gauge' as const,
      items,
      write: (row: (typeof agreed)[number], out: TextWriter) => out.sample(name, row.labels, value(row.frequency)),
    });
    families.push(
      agreedFamily(
        'saturn_node_frequency_vs_agreed_ppm',
        "Frequency of the node relative to the time the mesh's majority agrees on, in ppm (the master under its --name); not exported without a majority.",
        vsAgreed,
        (f) => f.ppm,
      ),
      agreedFamily(
        'saturn_node_frequency_vs_agreed_error_bound_ppm',
        'Error bound of the frequency relative to the agreed time: it is within that frequency +/- this, in ppm.',
        () => agreed,
        (f) => halfWidth(f)!,
      ),
    );
  }
  families.push(
    perNode(
      'saturn_node_drift_rate_alarm',
      '1 while the node drifts too fast (proven beyond --max-drift-ppm, or over the threshold within --predict); not exported while it is lost.',
      current,
      (n) => (n.lost ? undefined : n.driftRate.raised ? 1 : 0),
    ),
    {
      name: 'saturn_node_checks_total',
      help: 'Checks of the node, by result.',
      type: 'counter',
      items: current,
      write({ node, labels }: NodeRow, out: TextWriter) {
        out.sample('saturn_node_checks_total', `${labels},result="ok"`, node.checks);
        out.sample('saturn_node_checks_total', `${labels},result="discarded"`, node.discarded);
      },
    },
  );
  return families;
}

const halfWidth = (f: Frequency | undefined) => (f === undefined ? undefined : (f.hiPpm - f.loPpm) / 2);

/** The mesh's per-node families: each node named or not (the master included), and its offset from the agreed time. */
export function meshNodeFamilies(read: () => MeshInput): TextFamily<any>[] {
  let input: MeshInput | undefined;
  const named = () => {
    // The nodes named (events raised), a lost one included: the same set /status lists.
    input = read();
    const namedIds = new Set(input.named);
    const voted = [...(input.consensus?.nodes.keys() ?? [])];
    const votedIds = new Set(voted);
    return [...voted, ...input.named.filter((id) => !votedIds.has(id))].map((id) => ({ id, on: namedIds.has(id) }));
  };
  return [
    {
      name: 'saturn_mesh_falseticker',
      help: '1 while the mesh names the node (the master under its --name) as a falseticker: outside the time the majority agrees on.',
      type: 'gauge',
      items: named,
      write: ({ id, on }: { id: string; on: boolean }, out: TextWriter) =>
        out.sample('saturn_mesh_falseticker', `node="${escapeLabelValue(id)}"`, on ? 1 : 0),
    },
    {
      name: 'saturn_mesh_consensus_offset_seconds',
      help: "The node's clock minus the agreed time (the master under its --name); not exported without a majority.",
      type: 'gauge',
      items: () => [...(input?.consensus?.nodes.values() ?? [])],
      write: (v: { id: string; consensusOffsetNs: number | undefined }, out: TextWriter) => {
        if (v.consensusOffsetNs !== undefined)
          out.sample(
            'saturn_mesh_consensus_offset_seconds',
            `node="${escapeLabelValue(v.id)}"`,
            v.consensusOffsetNs / 1e9,
          );
      },
    },
  ];
}

/**
 * saturn_node_rtt_seconds, a histogram per node, written out as prom-client writes a Histogram
 * with a `node` label (buckets, +Inf, _sum, _count). Kept as one Float64Array per node (the
 * buckets' counts, then sum and count) rather than in a prom-client Histogram, which keeps an
 * object of bucket counts and its labels per node and hashes the labels on each observation:
 * with a check a second from each of 10,000 nodes, that was 1.2% of the master's busy time.
 */
export class NodeRttHistogram {
  static readonly NAME = 'saturn_node_rtt_seconds';
  readonly #nodes = new Map<string, Float64Array>();

  /** Counts one round trip of `seconds` for `node`. */
  observe(node: string, seconds: number): void {
    let counts = this.#nodes.get(node);
    if (counts === undefined) {
      counts = new Float64Array(RTT_BUCKETS.length + 2);
      this.#nodes.set(node, counts);
    }
    let bucket = 0;
    while (bucket < RTT_BUCKETS.length && seconds > RTT_BUCKETS[bucket]!) bucket++;
    if (bucket < RTT_BUCKETS.length) counts[bucket]!++;
    counts[RTT_BUCKETS.length]! += seconds;
    counts[RTT_BUCKETS.length + 1]!++;
  }

  remove(node: string): void {
    this.#nodes.delete(node);
  }

  /** The family: what each node observed stays until it is forgotten. */
  family(): TextFamily<[string, Float64Array]> {
    const name = NodeRttHistogram.NAME;
    return {
      name,
      help: 'Round-trip time of each good check.',
      type: 'histogram',
      items: () => [...this.#nodes],
      write([node, counts], out) {
        const labels = `node="${escapeLabelValue(node)}"`;
        let cumulative = 0;
        for (let i = 0; i < RTT_BUCKETS.length; i++) {
          cumulative += counts[i]!;
          out.sample(`${name}_bucket`, `le="${RTT_BUCKETS[i]}",${labels}`, cumulative);
        }
        const count = counts[RTT_BUCKETS.length + 1]!;
        out.sample(`${name}_bucket`, `le="+Inf",${labels}`, count);
        out.sample(`${name}_sum`, labels, counts[RTT_BUCKETS.length]!);
        out.sample(`${name}_count`, labels, count);
      },
    };
  }
}
