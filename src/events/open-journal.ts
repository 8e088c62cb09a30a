/**
 * Opens a node's event journal with its destinations: sequence numbers (durable with a state
 * dir), the webhook targets with their outboxes, then the llog stream. Webhooks subscribe first so
 * an event is in every outbox, fsync'd, before its llog line is written.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { eventLlogLine } from './event.js';
import { EventJournal } from './journal.js';
import type { LlogWriter } from '../log/llog.js';
import { Outbox } from './outbox.js';
import { MemorySequence, SequenceStore } from './sequence-store.js';
import { type WebhookFormat, WebhookTarget } from './webhook.js';

export interface JournalOptions {
  /** The reporting node's name. */
  name: string;
  stateDir: string | undefined;
  webhookUrls: readonly string[];
  webhookFormat: WebhookFormat;
  webhookTimeoutMs: number;
  outboxMax: number;
}

export interface JournalDeps {
  clock: Clock;
  logger: Logger;
  /** The llog stream (stdout in production): every event is printed there as one line. */
  llog: LlogWriter;
}

/** A node's journal with its destinations. */
export interface OpenJournal {
  journal: EventJournal;
  webhooks: WebhookTarget[];
  close(): Promise<void>;
}

/** The outbox file of one URL: named by a hash, so the URL (which may hold a secret) is not in a file name. */
export function outboxFileName(url: string): string {
  return `outbox-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.log`;
}

/** Opens the sequence store and outboxes (replaying what a previous run left) and starts delivery. */
export function openJournal(options: JournalOptions, deps: JournalDeps): OpenJournal {
  const { stateDir, webhookUrls } = options;
  const sequence = stateDir === undefined ? new MemorySequence() : SequenceStore.open(stateDir);
  const journal = new EventJournal(sequence, options.name);
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
    journal.subscribe((event) => target.accept(event));
    return target;
  });
  if (stateDir === undefined && webhookUrls.length > 0) {
    deps.logger.warn(
      {},
      'no --state-dir: event numbers restart at 1 and undelivered webhook events are lost when saturn restarts',
    );
  }
  journal.subscribe((event) => {
    const { level, message, fields } = eventLlogLine(event);
    deps.llog.line(level, message, fields);
  });
  for (const target of webhooks) target.kick();
  return {
    journal,
    webhooks,
    close: async () => {
      await Promise.all(webhooks.map((w) => w.close()));
    },
  };
}
