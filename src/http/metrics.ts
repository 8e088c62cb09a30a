/**
 * /metrics in the Prometheus text format, checked by `promtool check metrics` in the tests: the
 * families with a series per node written as text (node-metrics.ts: at 10,000 nodes they are
 * nearly all of it), the rest through prom-client, in a registry of its own. Most values are read
 * from the live state when scraped (fleet, drops, events, webhooks, stage timings); what needs
 * every observation (the RTT histogram, Roughtime results) is fed by observe* calls.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_KINDS, type EventKind } from '../events/event.js';
import { WEBHOOK_FAILURE_REASONS } from '../events/post.js';
import type { WebhookTarget } from '../events/webhook.js';
import type { CheckRecord, NodeState } from '../fleet/fleet.js';
import type { PeerEdge } from '../mesh/consensus.js';
import type { KeyUse } from '../wire/envelope.js';
import { NodeRttHistogram, meshNodeFamilies, nodeFamilies } from './node-metrics.js';
import type { MeshInput } from './status.js';
import { type TextFamily, renderFamilies } from './text-exposition.js';

/** What a master and a slave both export: their datagram drops, events, webhooks, stages, build and process. */
export interface CommonSources {
  /** Datagrams dropped by reason; every reason listed in `dropReasons` is exported, 0 until it happens. */
  drops: () => Record<string, number>;
  dropReasons?: readonly string[];
  /** `saturn_build_info` labels. */
  build?: { version: string };
  events: () => ReadonlyMap<EventKind, number>;
  /** The event journal's commit state (events waiting to be durable, failed commits by errno). */
  journal?: () => { uncommitted: number; commitFailures: ReadonlyMap<string, number> };
  webhooks: () => readonly WebhookTarget[];
  /** Stage timings by stage name (the pipeline's DurationHistogram fits). */
  stages?: () => Record<string, StageTimings>;
  /** Datagrams per HMAC key id, received (authenticated) and sent. */
  keyUse?: () => KeyUse;
  /** Datagrams the kernel dropped because the UDP socket's receive buffer was full (undefined: unknown). */
  receiveBufferDrops?: () => number | undefined;
  /** Check openings answered with a cookie instead of a session. */
  cookiesSent?: () => number;
}

/** Where the master's scrape-time values come from. */
export interface MetricsSources extends CommonSources {
  nodes: () => readonly NodeState[];
  thresholdNs: number;
  /** The mesh's vote and the master's own view (absent: no mesh metrics). */
  mesh?: () => MeshInput;
  /**
   * Pairwise offsets measured by peers (from − to), fresh ones; the caller passes none for a large
   * fleet (a series per pair is only cheap for a few hundred nodes).
   */
  meshPairs?: () => readonly PeerEdge[];
  /** The master's own reference state against Roughtime; undefined when no server is configured. */
  reference?: () => 'unknown' | 'ok' | 'wrong' | undefined;
}

/** What /metrics reads of one stage's timings, in nanoseconds. */
export interface StageTimings {
  readonly count: number;
  readonly sumNs: number;
  quantileNs(q: number): number;
}

const STAGE_QUANTILES = [0.5, 0.9, 0.99];
const STAGE_SUMMARY = 'saturn_pipeline_stage_seconds';
/**
 * How often the nodejs_eventloop_lag_* histogram samples the event loop, ms. prom-client's default
 * (10 ms) wakes an idle process 100 times a second: measured, 1.3% of a core for an idle master,
 * more than 100 slaves' checks cost. 100 ms still gives ~150 samples per 15 s scrape.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

type Labels = Record<string, string>;

/**
 * A counter or gauge whose values are read from the live state at scrape time. (A prom-client
 * counter only goes up by inc(), so a mirrored counter is reset and set again on every scrape.)
 */
export function mirrored(
  kind: 'counter' | 'gauge',
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Labels, number][],
): void {
  const options = { name, help, labelNames, registers: [registry] };
  if (kind === 'gauge') {
    new Gauge({
      ...options,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  } else {
    new Counter({
      ...options,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  }
}

export const mirroredCounter = mirrored.bind(undefined, 'counter');
export const mirroredGauge = mirrored.bind(undefined, 'gauge');

/** The metrics of one saturn node. */
export class SaturnMetrics {
  readonly registry = new Registry();
  readonly #rtt = new NodeRttHistogram();
  readonly #families: readonly TextFamily<any>[];
  readonly #roughtime: Counter;
  /** The rendering in progress, shared by the scrapes that arrive during it. */
  #rendering: Promise<Buffer[]> | undefined;

  constructor(sources: MetricsSources) {
    const r = this.registry;
    this.#families = [
      ...nodeFamilies(sources.nodes, sources.mesh),
      this.#rtt.family(),
      ...(sources.mesh ? meshNodeFamilies(sources.mesh) : []),
    ];
    mirroredGauge(r, 'saturn_threshold_seconds', 'The alert threshold (--threshold).', [], () => [
      [{}, sources.thresholdNs / 1e9],
    ]);
    if (sources.mesh) registerMesh(r, sources.mesh, sources.meshPairs ?? (() => []));
    registerCommon(r, sources);
    const reference = sources.reference;
    if (reference !== undefined)
      mirroredGauge(
        r,
        'saturn_reference_clock_state',
        "The master's own clock against Roughtime: 1 for the state it is in (unknown, ok, wrong), 0 for the others.",
        ['state'],
        () => {
          const now = reference();
          if (now === undefined) return [];
          return (['unknown', 'ok', 'wrong'] as const).map((state): [Labels, number] => [
            { state },
            state === now ? 1 : 0,
          ]);
        },
      );
    this.#roughtime = new Counter({
      name: 'saturn_roughtime_checks_total',
      help: 'Roughtime checks of the reference clock, by server and result.',
      labelNames: ['server', 'result'],
      registers: [r],
    });
  }

  /** Feeds one finished check (the RTT histogram). */
  observeCheck(record: CheckRecord): void {
    if (record.verdict) this.#rtt.observe(record.node.id, record.verdict.rttNs / 1e9);
  }

  /** Drops what is kept per node (a forgotten node's RTT histogram), so labels do not pile up. */
  forgetNode(id: string): void {
    this.#rtt.remove(id);
  }

  /** Feeds one Roughtime result: ok, wrong (reference clock outside the bound), invalid, timeout, … */
  observeRoughtime(server: string, result: string): void {
    this.#roughtime.inc({ server, result });
  }

  /**
   * The text exposition: the per-node families (written in slices, yielding between them), then
   * the registry's. Scrapes that overlap share one rendering: the families read one snapshot of
   * the nodes per rendering (a second rendering begun during the first's slices would replace it
   * under the first, whose later families would name other nodes than its earlier ones), and a
   * burst of scrapes costs one rendering's time and buffers, not one each.
   */
  render(): Promise<Buffer[]> {
    this.#rendering ??= (async () => renderFamilies(this.#families, await this.registry.metrics()))().finally(
      () => (this.#rendering = undefined),
    );
    return this.#rendering;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The mesh's gauges: its vote, each node named or not (the master included), offsets from the agreed time, pairs. */
function registerMesh(r: Registry, read: () => MeshInput, pairs: () => readonly PeerEdge[]): void {
  const vote = () => read().consensus;
  mirroredGauge(
    r,
    'saturn_mesh_majority',
    '1 while a strict majority of at least 3 clocks agrees (the mesh can name a wrong clock).',
    [],
    () => [[{}, vote()?.majority ? 1 : 0]],
  );
  mirroredGauge(
    r,
    'saturn_mesh_agree',
    'Clocks in the largest group that shares a time (the master included).',
    [],
    () => [[{}, vote()?.agree ?? 0]],
  );
  mirroredGauge(r, 'saturn_mesh_voters', 'Clocks with a fresh estimate that voted (the master included).', [], () => [
    [{}, vote()?.of ?? 0],
  ]);
  mirroredGauge(
    r,
    'saturn_mesh_agreed_offset_seconds',
    'The agreed time minus the master clock (e.g. -0.5 when the master is 500 ms fast); not exported without a majority.',
    [],
    () => {
      const agreed = vote()?.majority ? vote()!.agreed : undefined;
      return agreed ? [[{}, (agreed.loNs + agreed.hiNs) / 2e9]] : [];
    },
  );
  mirroredGauge(
    r,
    'saturn_mesh_peer_offset_seconds',
    'A peer check: node clock minus peer clock, as the node measured it (fleets of at most 200 nodes).',
    ['node', 'peer'],
    () => pairs().map((e) => [{ node: e.from, peer: e.to }, e.offsetNs / 1e9]),
  );
}

/**
 * The pipeline stages' timings as one Prometheus summary (quantiles from the pipeline's own log
 * histograms, within ~19%, plus _sum and _count). prom-client's Summary computes quantiles from
 * observations it sees itself; these come from the pipeline, so the metric is written directly.
 */
function stageSummary(read: () => [string, StageTimings][]) {
  const help = 'Time spent in a pipeline stage, per item: quantiles (log buckets, within ~19%), sum and count.';
  return {
    name: STAGE_SUMMARY,
    help,
    type: 'summary',
    aggregator: 'sum',
    reset: () => undefined,
    get: () => ({
      name: STAGE_SUMMARY,
      help,
      type: 'summary',
      aggregator: 'sum',
      values: read().flatMap(([stage, t]) => [
        ...STAGE_QUANTILES.map((q) => ({ labels: { stage, quantile: q }, value: t.quantileNs(q) / 1e9 })),
        { metricName: `${STAGE_SUMMARY}_sum`, labels: { stage }, value: t.sumNs / 1e9 },
        { metricName: `${STAGE_SUMMARY}_count`, labels: { stage }, value: t.count },
      ]),
    }),
  };
}

/** Registers what every node exports: drops, events, webhooks, pipeline stages, build info, process metrics. */
export function registerCommon(r: Registry, sources: CommonSources): void {
  mirroredCounter(r, 'saturn_datagrams_dropped_total', 'Datagrams dropped unanswered, by reason.', ['reason'], () => {
    const counts = {
      ...Object.fromEntries((sources.dropReasons ?? []).map((reason) => [reason, 0])),
      ...sources.drops(),
    };
    return Object.entries(counts).map(([reason, n]) => [{ reason }, n]);
  });
  mirroredCounter(
    r,
    'saturn_datagrams_by_key_total',
    'Datagrams per HMAC key id: received (authenticated) and sent. Once a retired key stays flat, it can go.',
    ['key_id', 'direction'],
    () => {
      const use = sources.keyUse?.();
      if (!use) return [];
      const rows = (direction: string, counts: ReadonlyMap<number, number>) =>
        [...counts].map(([id, n]): [Labels, number] => [{ key_id: String(id), direction }, n]);
      return [...rows('received', use.received), ...rows('sent', use.sent)];
    },
  );
  mirroredCounter(
    r,
    'saturn_udp_receive_buffer_drops_total',
    "Datagrams the kernel dropped because the UDP socket's receive buffer was full (a flood outrunning the process).",
    [],
    () => {
      const drops = sources.receiveBufferDrops?.();
      return drops === undefined ? [] : [[{}, drops]];
    },
  );
  mirroredCounter(
    r,
    'saturn_check_cookies_sent_total',
    'Check openings answered with a cookie instead of a session (a first check, an expired cookie, or a replay).',
    [],
    () => (sources.cookiesSent ? [[{}, sources.cookiesSent()]] : []),
  );
  mirroredCounter(r, 'saturn_events_total', 'Events raised, by kind.', ['kind'], () =>
    EVENT_KINDS.map((kind) => [{ kind }, sources.events().get(kind) ?? 0]),
  );
  mirroredGauge(
    r,
    'saturn_events_uncommitted',
    'Events raised but not yet durable in the state dir (not shown or delivered yet; retried).',
    [],
    () => (sources.journal ? [[{}, sources.journal().uncommitted]] : []),
  );
  mirroredCounter(
    r,
    'saturn_event_commit_failures_total',
    'Failed attempts to make events durable in the state dir, by errno (enospc, eio, ...); each is retried.',
    ['reason'],
    () =>
      [...(sources.journal?.().commitFailures ?? [])].map(([code, n]): [Labels, number] => [
        { reason: code.toLowerCase() },
        n,
      ]),
  );

  const targets = () => sources.webhooks().map((w, i) => ({ w, labels: { webhook: String(i), target: w.label } }));
  mirroredGauge(
    r,
    'saturn_webhook_outbox_depth',
    'Events waiting for delivery to the webhook.',
    ['webhook', 'target'],
    () => targets().map(({ w, labels }) => [labels, w.outbox.depth]),
  );
  mirroredCounter(
    r,
    'saturn_webhook_deliveries_total',
    'Events delivered (2xx) to the webhook.',
    ['webhook', 'target'],
    () => targets().map(({ w, labels }) => [labels, w.stats.delivered]),
  );
  mirroredCounter(
    r,
    'saturn_webhook_failures_total',
    'Failed delivery attempts (retried), by reason: network, timeout, http_429, http_5xx.',
    ['webhook', 'target', 'reason'],
    () =>
      targets().flatMap(({ w, labels }) =>
        WEBHOOK_FAILURE_REASONS.map((reason): [Labels, number] => [
          { ...labels, reason },
          w.stats.failures.get(reason) ?? 0,
        ]),
      ),
  );
  mirroredCounter(
    r,
    'saturn_webhook_rejected_total',
    'Events the webhook rejected for good (any status but 2xx, 307/308, 429 and 5xx), kept as dead letters.',
    ['webhook', 'target'],
    () => targets().map(({ w, labels }) => [labels, w.stats.rejected]),
  );
  mirroredCounter(
    r,
    'saturn_webhook_outbox_dropped_total',
    'Events dropped undelivered because the outbox was full.',
    ['webhook', 'target'],
    () => targets().map(({ w, labels }) => [labels, w.outbox.droppedTotal]),
  );

  r.registerMetric(stageSummary(() => Object.entries(sources.stages?.() ?? {})) as never);
  mirroredGauge(
    r,
    'saturn_build_info',
    'Always 1; the labels say which saturn and Node.js are running.',
    ['version', 'nodejs'],
    () => [[{ version: sources.build?.version ?? 'unknown', nodejs: process.versions.node }, 1]],
  );
  collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // prom-client names three gauges with a counter's `_total` suffix, which promtool rejects.
  for (const misnamed of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    r.removeSingleMetric(misnamed);
  }
}
