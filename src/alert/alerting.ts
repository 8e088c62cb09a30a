/**
 * Wires the event path of a node: sequence numbers (durable with a state dir), the webhook
 * targets with their outboxes, then the llog stream. Webhooks subscribe first so an event is in
 * every outbox, fsync'd, before its llog line is written.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import type { Logger, Sink } from '../log/diagnostics.js';
import { Events, eventLlogLine } from './events.js';
import { LlogWriter } from './llog.js';
import { Outbox } from './outbox.js';
import { MemorySequence, SequenceStore } from './sequence-store.js';
import { type WebhookFormat, WebhookTarget } from './webhook.js';

export interface AlertingOptions {
  /** The reporting node's name. */
  name: string;
  stateDir: string | undefined;
  webhookUrls: readonly string[];
  webhookFormat: WebhookFormat;
  webhookTimeoutMs: number;
  outboxMax: number;
}

export interface AlertingDeps {
  clock: Clock;
  logger: Logger;
  /** The llog event stream (stdout in production). */
  events: Sink;
}

/** A node's events and their destinations. */
export interface Alerting {
  events: Events;
  webhooks: WebhookTarget[];
  /** Writes plain llog lines (non-event lines such as 'slave offset') to the same stream. */
  llog: LlogWriter;
  close(): Promise<void>;
}

/** The outbox file of one URL: named by a hash, so the URL (which may hold a secret) is not in a file name. */
export function outboxFileName(url: string): string {
  return `outbox-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.log`;
}

/** Opens the sequence store and outboxes (replaying what a previous run left) and starts delivery. */
export function openAlerting(options: AlertingOptions, deps: AlertingDeps): Alerting {
  const { stateDir, webhookUrls } = options;
  const sequence = stateDir === undefined ? new MemorySequence() : SequenceStore.open(stateDir);
  const events = new Events(sequence, options.name);
  const llog = new LlogWriter(deps.events);
  const webhooks = webhookUrls.map((url) => {
    const outbox = new Outbox({
      path: stateDir === undefined ? undefined : join(stateDir, outboxFileName(url)),
      maxPending: options.outboxMax,
    });
    const target = new WebhookTarget(
      { url, format: options.webhookFormat, outbox, timeoutMs: options.webhookTimeoutMs },
      deps,
    );
    if (outbox.depth > 0 || outbox.unreadableLines > 0) {
      deps.logger.info(
        { webhook: target.label, pending: outbox.depth, unreadableLines: outbox.unreadableLines },
        'webhook outbox reopened',
      );
    }
    events.subscribe((event) => target.accept(event));
    return target;
  });
  if (stateDir === undefined && webhookUrls.length > 0) {
    deps.logger.warn(
      {},
      'no --state-dir: event numbers restart at 1 and undelivered webhook events are lost when saturn restarts',
    );
  }
  events.subscribe((event) => {
    const { level, message, fields } = eventLlogLine(event);
    llog.line(level, message, fields);
  });
  for (const target of webhooks) target.kick();
  return {
    events,
    webhooks,
    llog,
    close: async () => {
      await Promise.all(webhooks.map((w) => w.close()));
    },
  };
}
