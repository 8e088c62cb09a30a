/**
 * Webhook delivery: every event is POSTed to every --webhook-url with undici, with
 * `Idempotency-Key: <sequence>`, a per-request timeout, and retries with exponential backoff and
 * jitter on network errors, timeouts, 429 (honouring Retry-After) and 5xx. Any other status
 * (3xx, 4xx) is logged and not retried. Events wait in a durable outbox (outbox.ts) until
 * delivered, one at a time in sequence order per URL, so delivery is at least once: a receiver
 * may see an event twice (after a timeout or a crash), always with the same Idempotency-Key.
 */
import { Agent, request } from 'undici';
import { type Clock, type Nanos, type Timer, isoNanos } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { type BackoffOptions, retryDelayMs } from '../util/backoff.js';
import type { EventKind, SaturnEvent } from './event.js';
import type { Outbox } from './outbox.js';

export const WEBHOOK_FORMATS = ['json', 'slack', 'alertmanager'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Webhook retry backoff: 500 ms doubling to at most 1 min, up to half of it random. */
export const WEBHOOK_BACKOFF: BackoffOptions = { initialMs: 500, factor: 2, maxMs: 60_000, jitter: 0.5 };

/** Timeout of one webhook request when the options do not say (--webhook-timeout), ms. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/** A Retry-After longer than this is cut to it: a receiver must not park saturn's alerts for a day. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

const seconds = (ns: number | undefined) => (ns === undefined ? null : ns / 1e9);

/** The JSON body of the `json` format. */
export function jsonBody(event: SaturnEvent): Record<string, unknown> {
  return {
    event: event.kind,
    sequence: event.sequence,
    reporter: event.reporter,
    node: event.node ? { id: event.node.id, addr: event.node.addr } : null,
    offsetSeconds: seconds(event.offsetNs),
    errorSeconds: seconds(event.errorNs),
    rttSeconds: seconds(event.rttNs),
    thresholdSeconds: seconds(event.thresholdNs),
    frequencyPpm: event.frequencyPpm ?? null,
    frequencyErrorPpm: event.frequencyErrorPpm ?? null,
    repeat: event.repeat ?? false,
    detail: event.detail ?? null,
    time: isoNanos(event.at),
  };
}

const signedMs = (ns: number) => `${ns >= 0 ? '+' : ''}${(ns / 1e6).toFixed(3)} ms`;

/** One sentence for humans (Slack text, Alertmanager summary). */
export function summaryText(event: SaturnEvent): string {
  const who = event.node ? `${event.node.id} (${event.node.addr})` : event.reporter;
  const offset = event.offsetNs === undefined ? '' : ` offset ${signedMs(event.offsetNs)}`;
  const error = event.errorNs === undefined ? '' : ` ± ${(event.errorNs / 1e6).toFixed(3)} ms`;
  const threshold = event.thresholdNs === undefined ? '' : `, threshold ${(event.thresholdNs / 1e6).toFixed(3)} ms`;
  const detail = event.detail === undefined ? '' : `: ${event.detail}`;
  const what: Record<EventKind, string> = {
    drift: event.repeat ? 'still over threshold' : 'over threshold',
    recovered: 'back under threshold',
    drift_rate: event.repeat ? 'still drifts too fast' : 'drifts too fast',
    drift_rate_recovered: 'drift back within limits',
    slave_lost: 'lost (no check for 3 intervals)',
    slave_back: 'back',
    slave_forgotten: 'forgotten (lost for longer than --forget-after)',
    name_conflict: 'is a name two hosts report: kept apart by address',
    master_unreachable: `unreachable from ${event.reporter}`,
    reference_clock_wrong: 'reference clock is wrong',
    falseticker: 'is a falseticker',
    no_majority: 'no majority of clocks agrees',
  };
  return `saturn #${event.sequence}: ${who} ${what[event.kind]}${offset}${error}${threshold}${detail}`;
}

const ALERT_NAMES: Record<EventKind, string> = {
  drift: 'SaturnClockOffset',
  recovered: 'SaturnClockOffset', // resolves the drift alert: same labels, endsAt set
  drift_rate: 'SaturnDriftRate',
  drift_rate_recovered: 'SaturnDriftRate', // resolves the drift-rate alert
  slave_lost: 'SaturnSlaveLost',
  slave_back: 'SaturnSlaveLost', // resolves the lost alert
  slave_forgotten: 'SaturnSlaveLost', // a forgotten node's lost alert is over too
  name_conflict: 'SaturnNameConflict',
  master_unreachable: 'SaturnMasterUnreachable',
  reference_clock_wrong: 'SaturnReferenceClockWrong',
  falseticker: 'SaturnFalseticker',
  no_majority: 'SaturnNoMajority',
};

/** Alertmanager's POST /api/v2/alerts body: a list of alerts (here, one). */
export function alertmanagerBody(event: SaturnEvent): Record<string, unknown>[] {
  const time = isoNanos(event.at);
  const labels: Record<string, string> = {
    alertname: ALERT_NAMES[event.kind],
    severity: event.kind === 'reference_clock_wrong' || event.kind === 'no_majority' ? 'critical' : 'warning',
    reporter: event.reporter,
  };
  if (event.node) {
    labels.node = event.node.id;
    labels.instance = event.node.addr;
  }
  const annotations: Record<string, string> = { summary: summaryText(event), sequence: String(event.sequence) };
  if (event.offsetNs !== undefined) annotations.offset_seconds = String(event.offsetNs / 1e9);
  if (event.errorNs !== undefined) annotations.error_seconds = String(event.errorNs / 1e9);
  if (event.thresholdNs !== undefined) annotations.threshold_seconds = String(event.thresholdNs / 1e9);
  if (event.frequencyPpm !== undefined) annotations.frequency_ppm = String(event.frequencyPpm);
  const alert: Record<string, unknown> = { labels, annotations, startsAt: time };
  const resolves: readonly EventKind[] = ['recovered', 'drift_rate_recovered', 'slave_back', 'slave_forgotten'];
  if (resolves.includes(event.kind)) alert.endsAt = time;
  return [alert];
}

/** The request body of an event in a format. */
export function webhookBody(event: SaturnEvent, format: WebhookFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(jsonBody(event));
    case 'slack':
      return JSON.stringify({ text: summaryText(event) });
    case 'alertmanager':
      return JSON.stringify(alertmanagerBody(event));
  }
}

/** Retry-After (delay-seconds or an HTTP date) in milliseconds from `now`; undefined if absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: Nanos): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  let ms: number;
  if (/^\s*\d+\s*$/.test(value)) ms = Number(value) * 1000;
  else {
    const date = Date.parse(value);
    if (Number.isNaN(date)) return undefined;
    ms = date - Number(now / 1_000_000n);
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Why a delivery attempt failed and will be retried. */
export const WEBHOOK_FAILURE_REASONS = ['network', 'timeout', 'http_429', 'http_5xx'] as const;

/** What one attempt came to. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | {
      kind: 'retry';
      reason: (typeof WEBHOOK_FAILURE_REASONS)[number];
      status?: number;
      retryAfterMs?: number;
      message: string;
    }
  | { kind: 'rejected'; status: number };

/** The rule: 2xx delivered; 429 and 5xx retried; anything else rejected for good. */
export function classifyStatus(status: number, retryAfter: number | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 429)
    return { kind: 'retry', reason: 'http_429', status, retryAfterMs: retryAfter, message: `HTTP ${status}` };
  if (status >= 500)
    return { kind: 'retry', reason: 'http_5xx', status, retryAfterMs: retryAfter, message: `HTTP ${status}` };
  return { kind: 'rejected', status };
}

/** Counters of one webhook, read by /metrics. */
export interface WebhookStats {
  delivered: number;
  rejected: number;
  /** Failed attempts (each is retried), by reason. */
  failures: Map<string, number>;
}

export interface WebhookTargetOptions {
  url: string;
  format: WebhookFormat;
  outbox: Outbox;
  /** Per-request timeout (connect, headers and body), ms. Default 5000. */
  timeoutMs?: number;
  backoff?: BackoffOptions;
}

export interface WebhookDeps {
  clock: Clock;
  logger: Logger;
}

/** The URL without credentials, path or query (Slack-style URLs carry a secret in the path): for logs and metrics. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

/** Delivers one URL's outbox, oldest first, one request at a time. */
export class WebhookTarget {
  readonly url: string;
  readonly label: string;
  readonly outbox: Outbox;
  readonly stats: WebhookStats = { delivered: 0, rejected: 0, failures: new Map() };
  readonly #format: WebhookFormat;
  readonly #timeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #deps: WebhookDeps;
  readonly #agent: Agent;
  #attempt = 0; // failed attempts of the head event
  #inFlight: Promise<void> | undefined;
  #timer: Timer | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: WebhookTargetOptions, deps: WebhookDeps) {
    this.url = options.url;
    this.label = redactUrl(options.url);
    this.outbox = options.outbox;
    this.#format = options.format;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    this.#backoff = options.backoff ?? WEBHOOK_BACKOFF;
    this.#deps = deps;
    this.#agent = new Agent({
      connectTimeout: this.#timeoutMs,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  /** Takes one event: durable in the outbox before this returns; delivery follows in the background. */
  accept(event: SaturnEvent): void {
    const { dropped } = this.outbox.add(event);
    if (dropped.length > 0) {
      this.#deps.logger.warn(
        {
          webhook: this.label,
          dropped: dropped.length,
          droppedTotal: this.outbox.droppedTotal,
          sequences: dropped.map((e) => e.sequence).join(','),
          maxPending: this.outbox.maxPending,
        },
        'webhook outbox full: dropped the oldest events',
      );
    }
    this.kick();
  }

  /** Starts delivering if there is something to deliver and no request or retry timer is pending. */
  kick(): void {
    if (this.#closed || this.#inFlight || this.#timer) return;
    const event = this.outbox.head();
    if (!event) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
      return;
    }
    this.#inFlight = this.#deliver(event).finally(() => {
      this.#inFlight = undefined;
      this.kick();
    });
  }

  /** Resolves once no request is in flight: delivered, rejected, or failed with a retry timer armed. */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Resolves once the outbox is empty (tests, and a graceful shutdown that wants to drain). */
  idle(): Promise<void> {
    if (this.outbox.depth === 0 && !this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #deliver(event: SaturnEvent): Promise<void> {
    const outcome = await this.#post(event);
    const { logger } = this.#deps;
    switch (outcome.kind) {
      case 'delivered':
        this.#attempt = 0;
        this.stats.delivered++;
        this.outbox.done(event.sequence);
        logger.debug({ webhook: this.label, sequence: event.sequence, status: outcome.status }, 'webhook delivered');
        return;
      case 'rejected':
        this.#attempt = 0;
        this.stats.rejected++;
        this.outbox.done(event.sequence);
        logger.warn(
          { webhook: this.label, sequence: event.sequence, status: outcome.status },
          'webhook rejected the event: not retried',
        );
        return;
      case 'retry': {
        this.#attempt++;
        this.stats.failures.set(outcome.reason, (this.stats.failures.get(outcome.reason) ?? 0) + 1);
        const delayMs = outcome.retryAfterMs ?? retryDelayMs(this.#attempt, this.#backoff);
        // The first failure of an outage is worth a warning; the retries after it are debug noise.
        const level = this.#attempt === 1 ? 'warn' : 'debug';
        logger[level](
          {
            webhook: this.label,
            sequence: event.sequence,
            attempt: this.#attempt,
            reason: outcome.message,
            retryInMs: Math.round(delayMs),
          },
          'webhook delivery failed: will retry',
        );
        if (this.#closed) return;
        this.#timer = this.#deps.clock.setTimer(delayMs * 1e6, () => {
          this.#timer = undefined;
          this.kick();
        });
        return;
      }
    }
  }

  async #post(event: SaturnEvent): Promise<AttemptOutcome> {
    try {
      const response = await request(this.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': String(event.sequence),
          'user-agent': 'saturn',
        },
        body: webhookBody(event, this.#format),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await response.body.dump();
      return classifyStatus(response.statusCode, retryAfterMs(response.headers['retry-after'], this.#deps.clock.now()));
    } catch (err) {
      const error = err as Error & { code?: string };
      const timeout = error.name === 'TimeoutError' || /TIMEOUT/.test(error.code ?? '');
      return { kind: 'retry', reason: timeout ? 'timeout' : 'network', message: error.code ?? error.message };
    }
  }

  /** Stops delivering (pending events stay in the outbox for the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    // Destroying the agent aborts a request in flight; its event stays pending.
    await this.#agent.destroy().catch(() => undefined);
    await this.#inFlight?.catch(() => undefined);
    this.outbox.close();
  }
}
