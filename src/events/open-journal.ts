/**
 * Opens a node's event journal with its destinations: sequence numbers (durable with a state dir),
 * the webhook targets with their outboxes, then the llog stream. A group of events is committed by
 * reserving its numbers and appending it to every outbox (in parallel, one fsync each); once that
 * is done the events are published: the active alerts follow them, they are released for delivery
 * and written to the llog stream. Alertmanager webhooks get the active alerts again every
 * --alert-repost.
 */
import { join } from 'node:path';
import type { Clock, Timer } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { eventLlogLine } from './event.js';
import { EventJournal } from './journal.js';
import type { LlogWriter } from '../log/llog.js';
import { Outbox, type OutboxDamage } from './outbox.js';
import { MemorySequence, SequenceStore } from './sequence-store.js';
import { scanStateDir, stateError } from './state-dir.js';
import { lockStateDir } from './state-lock.js';
import { type StateFs, nodeStateFs } from './state-fs.js';
import { type WebhookSpec, eventJsonLine } from './formats.js';
import { type AlertState, WebhookTarget, webhookId } from './webhook.js';
import { ActiveAlerts } from './alerts.js';
import { DeadLetters } from './dead-letters.js';

export interface JournalOptions {
  /** The reporting node's name. */
  name: string;
  stateDir: string | undefined;
  webhooks: readonly WebhookSpec[];
  webhookTimeoutMs: number;
  outboxMax: number;
  /** How often Alertmanager webhooks get every active alert again; default DEFAULT_ALERT_REPOST_NS. */
  alertRepostNs?: number;
}

/** Re-post active alerts to Alertmanager this often: well within its default resolve_timeout (5 min). */
export const DEFAULT_ALERT_REPOST_NS = 60e9;

/** An active alert's endsAt is this many re-post intervals ahead: three re-posts may fail before it lapses. */
const HOLD_REPOSTS = 4;

export interface JournalDeps {
  clock: Clock;
  logger: Logger;
  /** The llog stream (stdout in production): every event is printed there as one line. */
  llog: LlogWriter;
  /** The state dir's file system; default node:fs/promises (tests inject faults). */
  fs?: StateFs;
}

/** A node's journal with its destinations. */
export interface OpenJournal {
  journal: EventJournal;
  webhooks: WebhookTarget[];
  /** The alerts firing now (raised, not resolved), as the events say. */
  alerts: ActiveAlerts;
  /** Alerts link here (Alertmanager's generatorURL): the dashboard, once it listens. */
  setGeneratorUrl(url: string): void;
  /** Commits what is queued (once more if the disk refused it), then stops delivery. */
  close(): Promise<void>;
}

/** The outbox file of one URL: named by its id, so the URL (which may hold a secret) is not in a file name. */
export function outboxFileName(url: string): string {
  return `outbox-${webhookId(url)}.log`;
}

/** A short list for a log line: "2,7,9" (the first 100, then "…"). */
function listOf(values: readonly (number | undefined)[]): string {
  const text = values.slice(0, 100).map((v) => (v === undefined ? '?' : String(v)));
  return values.length > 100 ? `${text.join(',')},…` : text.join(',');
}

/**
 * Says what an outbox could not read when it was opened: events lost to damage at ERROR, with
 * their sequence numbers ('?' where not even that was readable); damage that loses nothing (a torn
 * tail whose commit never finished, a delivery mark) at WARN.
 */
function reportDamage(outbox: Outbox, webhook: string, logger: Logger): void {
  const groups: [readonly OutboxDamage[], 'error' | 'warn', string][] = [
    [outbox.damage.filter((d) => d.lost), 'error', 'webhook outbox: damaged records, events lost'],
    [
      outbox.damage.filter((d) => d.tail),
      'warn',
      'webhook outbox: cut a torn record at its end (a commit the process did not finish: never shown)',
    ],
    [
      outbox.damage.filter((d) => !d.lost && !d.tail),
      'warn',
      'webhook outbox: damaged records that lose no event (a delivery or drop mark, or a copy): such an event may be delivered again',
    ],
  ];
  for (const [damage, level, message] of groups) {
    if (damage.length === 0) continue;
    logger[level](
      {
        webhook,
        records: damage.length,
        sequences: listOf(damage.map((d) => d.sequence)),
        lines: listOf(damage.map((d) => d.line)),
      },
      message,
    );
  }
}

/**
 * Takes the state dir (one node each: SATURN_ERR_STATE while another live process holds it),
 * opens the sequence store and outboxes (replaying what a previous run left) and starts delivery.
 * `close` releases the state dir.
 */
export async function openJournal(options: JournalOptions, deps: JournalDeps): Promise<OpenJournal> {
  // One node per state dir: a second would reuse event numbers and overwrite the first's outboxes.
  const unlock = options.stateDir === undefined ? undefined : await lockStateDir(options.stateDir);
  try {
    const opened = await openLocked(options, deps);
    return {
      ...opened,
      close: async () => {
        await opened.close();
        await unlock?.();
      },
    };
  } catch (err) {
    await unlock?.();
    throw err;
  }
}

/** openJournal once the state dir is taken. */
async function openLocked(options: JournalOptions, deps: JournalDeps): Promise<OpenJournal> {
  const { stateDir, webhooks: specs } = options;
  const fs = deps.fs ?? nodeStateFs;
  const scan = stateDir === undefined ? undefined : await scanStateDir(fs, stateDir);
  const sequence =
    stateDir === undefined ? new MemorySequence() : await SequenceStore.open(stateDir, { fs, above: scan!.high });
  if (sequence instanceof SequenceStore && sequence.repaired) {
    deps.logger.warn(
      { file: sequence.repaired.file ?? 'missing', next: sequence.repaired.next, stateDir },
      'the sequence file is missing or behind the events in the state dir: numbering goes on above every number it holds',
    );
  }
  const configured = new Set(specs.map((w) => outboxFileName(w.url)));
  for (const orphan of scan?.outboxes.filter((o) => !configured.has(o.file) && o.pending.length > 0) ?? []) {
    deps.logger.warn(
      { file: join(stateDir!, orphan.file), pending: orphan.pending.length },
      'an outbox of a webhook no longer configured holds undelivered events (saturn events list shows them)',
    );
  }
  const deadLetters = await DeadLetters.open(fs, stateDir).catch((err: unknown) => {
    throw stateError(stateDir!, err);
  });
  if (deadLetters.cut !== undefined) {
    // The outbox marks an event done only once its dead letter is durable, so nothing is lost.
    deps.logger.warn(
      { file: deadLetters.path, bytes: Buffer.byteLength(deadLetters.cut) },
      'dead letters: cut a torn record at its end (a write the process did not finish: its event is still in its outbox)',
    );
  }
  const repostNs = options.alertRepostNs ?? DEFAULT_ALERT_REPOST_NS;
  let generatorUrl: string | undefined;
  const alerts: AlertState = {
    active: new ActiveAlerts(),
    holdNs: HOLD_REPOSTS * repostNs,
    generatorUrl: () => generatorUrl,
  };
  const webhooks: WebhookTarget[] = [];
  for (const { url, format } of specs) {
    const path = stateDir === undefined ? undefined : join(stateDir, outboxFileName(url));
    const outbox = await Outbox.open({ path, maxPending: options.outboxMax, fs, logger: deps.logger }).catch(
      (err: unknown) => {
        throw stateError(path!, err);
      },
    );
    const target = new WebhookTarget(
      { url, format, outbox, deadLetters, alerts, timeoutMs: options.webhookTimeoutMs },
      deps,
    );
    if (outbox.depth > 0) deps.logger.info({ webhook: target.label, pending: outbox.depth }, 'webhook outbox reopened');
    reportDamage(outbox, target.label, deps.logger);
    webhooks.push(target);
  }
  if (stateDir === undefined && specs.length > 0) {
    deps.logger.warn(
      {},
      'no --state-dir: event numbers restart at 1 and undelivered webhook events are lost when saturn restarts',
    );
  }
  const journal = new EventJournal({
    reporter: options.name,
    sequence,
    clock: deps.clock,
    logger: deps.logger,
    store: {
      commit: async (events) => {
        await Promise.all(webhooks.map((target) => target.store(events)));
      },
    },
  });
  journal.subscribe((event) => {
    alerts.active.apply(event);
    for (const target of webhooks) target.release(event);
    const { level, message, fields } = eventLlogLine(event);
    if (deps.llog.format === 'json') deps.llog.json(eventJsonLine(event, level, message));
    else deps.llog.line(level, message, fields);
  });
  for (const target of webhooks) target.kick();
  // The re-post timer runs on the injected clock (the simulated one in tests).
  let repostTimer: Timer | undefined;
  const scheduleRepost = () => {
    repostTimer = deps.clock.setTimer(repostNs, () => {
      for (const target of webhooks) target.repost();
      scheduleRepost();
    });
  };
  if (specs.some((w) => w.format === 'alertmanager')) scheduleRepost();
  return {
    journal,
    webhooks,
    alerts: alerts.active,
    setGeneratorUrl: (url) => void (generatorUrl = url),
    close: async () => {
      repostTimer?.cancel();
      await journal.close();
      await Promise.all(webhooks.map((w) => w.close()));
      await deadLetters.close();
    },
  };
}
