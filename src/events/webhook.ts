/**
 * Webhook delivery: every event is POSTed to every --webhook-url (post.ts: `Idempotency-Key:
 * <sequence>`, a per-request timeout, 307/308 followed), with retries, exponential backoff and
 * jitter on network errors, timeouts, 429 (honouring Retry-After) and 5xx. An event rejected for
 * good (any other status) is not lost: it becomes a dead letter (dead-letters.ts), logged at ERROR
 * with the status, for `saturn events replay`. Events wait in a durable outbox (outbox.ts) until
 * delivered, one at a time in sequence order per URL, so delivery is at least once: a receiver
 * may see an event twice (after a timeout or a crash), always with the same Idempotency-Key.
 * The journal has the target store each group of events durably (`store`) and releases each event
 * for delivery once the whole group is durable everywhere (`release`). Bodies: formats.ts.
 *
 * An Alertmanager target also re-posts every active alert when told (`repost`, every
 * --alert-repost), with its endsAt moved ahead, so Alertmanager keeps it firing for as long as
 * saturn says it fires and no longer; the re-post waits behind the outbox, so it never overtakes
 * the event that resolved an alert.
 */
import { createHash } from 'node:crypto';
import type { Agent } from 'undici';
import type { Clock, Timer } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { type BackoffOptions, retryDelayMs } from '../util/backoff.js';
import type { DeadLetters } from './dead-letters.js';
import { type SaturnEvent, eventToRecord } from './event.js';
import { ActiveAlerts } from './alerts.js';
import {
  type AlertmanagerContext,
  DEFAULT_ALERT_HOLD_NS,
  type WebhookFormat,
  alertmanagerRepost,
  webhookBody,
} from './formats.js';
import type { Outbox } from './outbox.js';
import { postWebhook, redactUrl, webhookAgent } from './post.js';

/** Webhook retry backoff: 500 ms doubling to at most 1 min, up to half of it random. */
export const WEBHOOK_BACKOFF: BackoffOptions = { initialMs: 500, factor: 2, maxMs: 60_000, jitter: 0.5 };

/** Timeout of one webhook request when the options do not say (--webhook-timeout), ms. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/** A webhook URL's id: names its outbox file and its dead letters, without putting the URL (maybe a secret) in a file. */
export function webhookId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** What the Alertmanager targets of a node share. */
export interface AlertState {
  active: ActiveAlerts;
  /** endsAt of a firing alert = time of the post + this (see AlertmanagerContext). */
  holdNs: number;
  /** The dashboard's URL, once the HTTP server listens. */
  generatorUrl(): string | undefined;
}

/** Counters of one webhook, read by /metrics. */
export interface WebhookStats {
  delivered: number;
  /** Re-posts of the active alerts that Alertmanager took. */
  reposts: number;
  /** Events rejected for good (kept as dead letters). */
  rejected: number;
  /** Failed attempts (each is retried), by reason. */
  failures: Map<string, number>;
}

export interface WebhookTargetOptions {
  url: string;
  format: WebhookFormat;
  outbox: Outbox;
  /** Where rejected events go. */
  deadLetters: DeadLetters;
  /** For the alertmanager format: the active alerts; default none (and the default hold). */
  alerts?: AlertState;
  /** Per-request timeout (connect, headers and body), ms. Default 5000. */
  timeoutMs?: number;
  backoff?: BackoffOptions;
}

export interface WebhookDeps {
  clock: Clock;
  logger: Logger;
}

/** Delivers one URL's outbox, oldest first, one request at a time. */
export class WebhookTarget {
  readonly url: string;
  readonly label: string;
  readonly outbox: Outbox;
  readonly stats: WebhookStats = { delivered: 0, reposts: 0, rejected: 0, failures: new Map() };
  readonly #format: WebhookFormat;
  readonly #deadLetters: DeadLetters;
  readonly #alerts: AlertState;
  #repostDue = false;
  readonly #timeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #deps: WebhookDeps;
  readonly #agent: Agent;
  #attempt = 0; // failed attempts of the head event
  /** Events up to this sequence may be delivered (the journal has published them). */
  #releasedThrough: number;
  #inFlight: Promise<void> | undefined;
  #timer: Timer | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  /** Redirect targets already logged (a move is worth one warning, not one per event). */
  readonly #redirectsSeen = new Set<string>();

  constructor(options: WebhookTargetOptions, deps: WebhookDeps) {
    this.url = options.url;
    this.label = redactUrl(options.url);
    this.outbox = options.outbox;
    this.#format = options.format;
    this.#deadLetters = options.deadLetters;
    this.#alerts = options.alerts ?? {
      active: new ActiveAlerts(),
      holdNs: DEFAULT_ALERT_HOLD_NS,
      generatorUrl: () => undefined,
    };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    this.#backoff = options.backoff ?? WEBHOOK_BACKOFF;
    this.#deps = deps;
    // What a previous run left in the outbox was shown then: deliverable at once.
    this.#releasedThrough = options.outbox.high;
    this.#agent = webhookAgent(this.#timeoutMs);
  }

  /** Makes a group of events durable in the outbox (one write, one fsync); not delivered before release(). */
  async store(events: readonly SaturnEvent[]): Promise<void> {
    const { dropped } = await this.outbox.append(events);
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
  }

  /** The event is durable everywhere and shown: deliver it (and everything before it). */
  release(event: SaturnEvent): void {
    if (event.sequence > this.#releasedThrough) this.#releasedThrough = event.sequence;
    this.kick();
  }

  /** Starts delivering if there is something to deliver and no request or retry timer is pending. */
  kick(): void {
    if (this.#closed || this.#inFlight || this.#timer) return;
    const head = this.outbox.head();
    const event = head && head.sequence <= this.#releasedThrough ? head : undefined;
    let next: Promise<void>;
    if (event) next = this.#deliver(event);
    else if (this.#repostDue) {
      this.#repostDue = false;
      next = this.#repost();
    } else {
      for (const wake of this.#idleWaiters.splice(0)) wake();
      return;
    }
    this.#inFlight = next.finally(() => {
      this.#inFlight = undefined;
      this.kick();
    });
  }

  /** Alertmanager targets: re-post the active alerts once the outbox is delivered. */
  repost(): void {
    if (this.#format !== 'alertmanager' || this.#alerts.active.size === 0) return;
    this.#repostDue = true;
    this.kick();
  }

  #context(): AlertmanagerContext {
    return { now: this.#deps.clock.now(), holdNs: this.#alerts.holdNs, generatorUrl: this.#alerts.generatorUrl() };
  }

  /** One re-post of the active alerts; a failure waits for the next one (no retry of its own). */
  async #repost(): Promise<void> {
    const active = this.#alerts.active.all();
    if (active.length === 0) return;
    const outcome = await postWebhook(this.url, alertmanagerRepost(active, this.#context()), undefined, {
      dispatcher: this.#agent,
      timeoutMs: this.#timeoutMs,
      now: () => this.#deps.clock.now(),
    });
    if (outcome.kind === 'delivered') {
      this.stats.reposts++;
      return;
    }
    if (outcome.kind === 'retry')
      this.stats.failures.set(outcome.reason, (this.stats.failures.get(outcome.reason) ?? 0) + 1);
    this.#deps.logger.warn(
      { webhook: this.label, alerts: active.length, reason: outcome.message },
      'alertmanager re-post of the active alerts failed: trying again at the next one',
    );
  }

  /** Resolves once no request is in flight: delivered, rejected, or failed with a retry timer armed. */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Resolves once nothing released is left to deliver (tests, and a graceful shutdown that wants to drain). */
  idle(): Promise<void> {
    const head = this.outbox.head();
    if ((!head || head.sequence > this.#releasedThrough) && !this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #deliver(event: SaturnEvent): Promise<void> {
    const outcome = await this.#post(event);
    const { logger } = this.#deps;
    switch (outcome.kind) {
      case 'delivered':
        this.#attempt = 0;
        this.stats.delivered++;
        await this.#finish(event);
        logger.debug({ webhook: this.label, sequence: event.sequence, status: outcome.status }, 'webhook delivered');
        return;
      case 'rejected': {
        const letter = {
          event,
          webhook: webhookId(this.url),
          target: this.label,
          status: outcome.status,
          reason: outcome.message,
          at: this.#deps.clock.now(),
        };
        try {
          await this.#deadLetters.add(letter);
        } catch (err) {
          // Not kept anywhere else yet: the event stays at the head of the outbox, tried again later.
          logger.error(
            { webhook: this.label, sequence: event.sequence, err: (err as Error).message },
            'cannot keep a rejected event as a dead letter: it stays in the outbox and is tried again',
          );
          this.#retryLater(this.#attempt + 1);
          return;
        }
        this.#attempt = 0;
        this.stats.rejected++;
        await this.#finish(event);
        logger.error(
          {
            webhook: this.label,
            sequence: event.sequence,
            status: outcome.status,
            reason: outcome.message,
            deadLetters: this.#deadLetters.path ?? 'none without --state-dir',
            event: this.#deadLetters.path === undefined ? eventToRecord(event) : undefined,
          },
          'webhook rejected the event: kept as a dead letter (saturn events replay sends it again)',
        );
        return;
      }
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
        this.#retryLater(this.#attempt, delayMs);
        return;
      }
    }
  }

  /** Arms the retry timer: after `delayMs`, or the backoff of attempt `attempt`. */
  #retryLater(attempt: number, delayMs = retryDelayMs(attempt, this.#backoff)): void {
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimer(delayMs * 1e6, () => {
      this.#timer = undefined;
      this.kick();
    });
  }

  /** Marks the event finished in the outbox; a failed write only means a second delivery after a restart. */
  async #finish(event: SaturnEvent): Promise<void> {
    try {
      await this.outbox.done(event.sequence);
    } catch (err) {
      this.#deps.logger.warn(
        { webhook: this.label, sequence: event.sequence, err: (err as Error).message },
        'webhook outbox: cannot record a delivery (the event may be delivered again after a restart)',
      );
    }
  }

  #post(event: SaturnEvent) {
    return postWebhook(this.url, webhookBody(event, this.#format, this.#context()), String(event.sequence), {
      dispatcher: this.#agent,
      timeoutMs: this.#timeoutMs,
      now: () => this.#deps.clock.now(),
      onRedirect: (status, to) => {
        if (this.#redirectsSeen.has(to)) return;
        this.#redirectsSeen.add(to);
        this.#deps.logger.warn(
          { webhook: this.label, status, to: redactUrl(to) },
          status === 308
            ? 'webhook moved permanently: following the redirect; update --webhook-url'
            : 'webhook redirected: following it',
        );
      },
    });
  }

  /** Stops delivering (pending events stay in a durable outbox for the next start; in memory, they are logged as lost). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    // Destroying the agent aborts a request in flight; its event stays pending.
    await this.#agent.destroy().catch(() => undefined);
    await this.#inFlight?.catch(() => undefined);
    // In memory only, what is still pending dies with the process: say so rather than lose it silently.
    if (!this.outbox.durable && this.outbox.depth > 0)
      this.#deps.logger.warn(
        { webhook: this.label, lost: this.outbox.depth },
        'webhook: undelivered events lost at shutdown (--state-dir keeps them for the next start)',
      );
    await this.outbox.close();
  }
}
