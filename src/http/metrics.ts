/**
 * /metrics in the Prometheus text format (prom-client, in a registry of its own). Most values are
 * read from the live state when scraped (fleet, drops, events, webhooks, stage timings); what needs
 * every observation (the RTT histogram, Roughtime results) is fed by observe* calls.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EVENT_KINDS, type EventKind } from '../events/event.js';
import type { WebhookTarget } from '../events/webhook.js';
import type { CheckRecord, NodeState } from '../fleet/fleet.js';
import { formatHostPort } from '../util/parse.js';

/** Where the scrape-time values come from. */
export interface MetricsSources {
  nodes: () => readonly NodeState[];
  thresholdNs: number;
  drops: () => Record<string, number>;
  events: () => ReadonlyMap<EventKind, number>;
  webhooks: () => readonly WebhookTarget[];
  /** Stage timings by stage name (the pipeline's DurationHistogram fits). */
  stages?: () => Record<string, StageTimings>;
  /** The master's own reference state against Roughtime; undefined when no server is configured. */
  reference?: () => 'unknown' | 'ok' | 'wrong' | undefined;
}

/** What /metrics reads of one stage's timings, in nanoseconds. */
export interface StageTimings {
  readonly count: number;
  readonly sumNs: number;
  quantileNs(q: number): number;
}

/** RTT buckets, seconds: 50 µs (loopback) to 1 s (a bad WAN). */
const RTT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const STAGE_QUANTILES = [0.5, 0.9, 0.99];

type Labels = Record<string, string>;

/**
 * A counter or gauge whose values are read from the live state at scrape time. (A prom-client
 * counter only goes up by inc(), so a mirrored counter is reset and set again on every scrape.)
 */
function mirrored(
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

const mirroredCounter = mirrored.bind(undefined, 'counter');
const mirroredGauge = mirrored.bind(undefined, 'gauge');

/** The metrics of one saturn node. */
export class SaturnMetrics {
  readonly registry = new Registry();
  readonly #rtt: Histogram;
  readonly #roughtime: Counter;

  constructor(sources: MetricsSources) {
    const r = this.registry;
    const withCheck = () => sources.nodes().filter((n) => n.current !== undefined);
    const nodeLabels = (n: NodeState) => ({ node: n.id, addr: formatHostPort({ host: n.ip, port: n.port }) });

    mirroredGauge(
      r,
      'saturn_node_offset_seconds',
      'Estimated clock offset of the node (node clock minus master clock).',
      ['node', 'addr'],
      () => withCheck().map((n) => [nodeLabels(n), n.current!.offsetNs / 1e9]),
    );
    mirroredGauge(
      r,
      'saturn_node_error_bound_seconds',
      'Error bound of the offset estimate: the true offset is within offset +/- this.',
      ['node', 'addr'],
      () => withCheck().map((n) => [nodeLabels(n), n.current!.errorNs / 1e9]),
    );
    mirroredGauge(
      r,
      'saturn_node_last_check_timestamp_seconds',
      "Unix time of the node's last good check (master clock).",
      ['node', 'addr'],
      () => withCheck().map((n) => [nodeLabels(n), Number(n.lastCheckAt!) / 1e9]),
    );
    mirroredGauge(
      r,
      'saturn_node_over_threshold',
      '1 while the node is proven over the threshold (|offset| - error > threshold).',
      ['node', 'addr'],
      () => sources.nodes().map((n) => [nodeLabels(n), n.alarm.over ? 1 : 0]),
    );
    mirroredCounter(r, 'saturn_node_checks_total', 'Checks of the node, by result.', ['node', 'addr', 'result'], () =>
      sources.nodes().flatMap((n): [Labels, number][] => [
        [{ ...nodeLabels(n), result: 'ok' }, n.checks],
        [{ ...nodeLabels(n), result: 'discarded' }, n.discarded],
      ]),
    );
    this.#rtt = new Histogram({
      name: 'saturn_node_rtt_seconds',
      help: 'Round-trip time of each good check.',
      labelNames: ['node'],
      buckets: RTT_BUCKETS,
      registers: [r],
    });
    mirroredGauge(r, 'saturn_threshold_seconds', 'The alert threshold (--threshold).', [], () => [
      [{}, sources.thresholdNs / 1e9],
    ]);
    mirroredCounter(r, 'saturn_datagrams_dropped_total', 'Datagrams dropped unanswered, by reason.', ['reason'], () =>
      Object.entries(sources.drops()).map(([reason, n]) => [{ reason }, n]),
    );
    mirroredCounter(r, 'saturn_events_total', 'Events raised, by kind.', ['kind'], () =>
      EVENT_KINDS.map((kind) => [{ kind }, sources.events().get(kind) ?? 0]),
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
          [...w.stats.failures].map(([reason, n]): [Labels, number] => [{ ...labels, reason }, n]),
        ),
    );
    mirroredCounter(
      r,
      'saturn_webhook_rejected_total',
      'Events the webhook rejected with a status that is not retried (3xx, 4xx other than 429).',
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

    const stages = () => Object.entries(sources.stages?.() ?? {});
    mirroredGauge(
      r,
      'saturn_pipeline_stage_quantile_seconds',
      'Time spent in a pipeline stage: quantiles (log buckets, within ~19%).',
      ['stage', 'quantile'],
      () =>
        stages().flatMap(([stage, t]) =>
          STAGE_QUANTILES.map((q): [Labels, number] => [{ stage, quantile: String(q) }, t.quantileNs(q) / 1e9]),
        ),
    );
    mirroredCounter(r, 'saturn_pipeline_stage_seconds_total', 'Time spent in a pipeline stage: total.', ['stage'], () =>
      stages().map(([stage, t]) => [{ stage }, t.sumNs / 1e9]),
    );
    mirroredCounter(r, 'saturn_pipeline_stage_samples_total', 'Items timed in a pipeline stage.', ['stage'], () =>
      stages().map(([stage, t]) => [{ stage }, t.count]),
    );
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
    if (record.verdict) this.#rtt.observe({ node: record.node.id }, record.verdict.rttNs / 1e9);
  }

  /** Feeds one Roughtime result: ok, wrong (reference clock outside the bound), invalid, timeout, … */
  observeRoughtime(server: string, result: string): void {
    this.#roughtime.inc({ server, result });
  }

  /** The text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
