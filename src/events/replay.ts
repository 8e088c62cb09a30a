/**
 * Replaying dead letters (`saturn events replay`): every event a webhook rejected for good, not
 * replayed yet, is POSTed again, oldest first, to the URL the operator names (the receiver's new
 * address, or the old one once fixed), with its original Idempotency-Key. Each one delivered is noted
 * durably in the replay file; the first that is not stops the replay, so order is kept and the rest
 * waits for the next run. An event several webhooks rejected is sent once.
 */
import type { Clock } from '../clock/clock.js';
import { type DeadLetter, markReplayed, readDeadLetters } from './dead-letters.js';
import { DEFAULT_ALERT_HOLD_NS, type WebhookFormat, webhookBody } from './formats.js';
import { type AttemptOutcome, postWebhook, redactUrl, webhookAgent } from './post.js';
import { type StateFs, nodeStateFs } from './state-fs.js';
import { webhookId } from './webhook.js';

export interface ReplayOptions {
  stateDir: string;
  /** Where to send them. */
  url: string;
  format: WebhookFormat;
  timeoutMs: number;
  /** Only the dead letters of this webhook URL (as it was configured when it rejected them). */
  from?: string;
  /** Only these sequence numbers. */
  sequences?: readonly number[];
}

/** What a replay did. */
export interface ReplayReport {
  delivered: DeadLetter[];
  /** The dead letter that stopped the replay, and what its attempt came to. */
  failed: { letter: DeadLetter; outcome: AttemptOutcome } | undefined;
  /** Dead letters (distinct events) left to replay. */
  remaining: number;
}

/** Replays the dead letters of a state dir; never throws for a failed delivery (see `failed`). */
export async function replayDeadLetters(
  options: ReplayOptions,
  deps: { clock: Clock; fs?: StateFs; onDelivered?: (letter: DeadLetter) => void },
): Promise<ReplayReport> {
  const fs = deps.fs ?? nodeStateFs;
  const fromId = options.from === undefined ? undefined : webhookId(options.from);
  const wanted = (await readDeadLetters(fs, options.stateDir)).letters.filter(
    (l) =>
      !l.replayed &&
      (fromId === undefined || l.webhook === fromId) &&
      (options.sequences === undefined || options.sequences.includes(l.event.sequence)),
  );
  const bySequence = new Map<number, DeadLetter[]>();
  for (const letter of wanted)
    bySequence.set(letter.event.sequence, [...(bySequence.get(letter.event.sequence) ?? []), letter]);
  const queue = [...bySequence.keys()].sort((a, b) => a - b);
  const dispatcher = webhookAgent(options.timeoutMs);
  const delivered: DeadLetter[] = [];
  try {
    for (const [index, sequence] of queue.entries()) {
      const letters = bySequence.get(sequence)!;
      const letter = letters[0]!;
      const context = { now: deps.clock.now(), holdNs: DEFAULT_ALERT_HOLD_NS };
      const body = webhookBody(letter.event, options.format, context);
      const outcome = await postWebhook(options.url, body, String(sequence), {
        dispatcher,
        timeoutMs: options.timeoutMs,
        now: () => deps.clock.now(),
      });
      if (outcome.kind !== 'delivered')
        return { delivered, failed: { letter, outcome }, remaining: queue.length - index };
      for (const each of letters)
        await markReplayed(fs, options.stateDir, each, redactUrl(options.url), deps.clock.now());
      delivered.push(letter);
      deps.onDelivered?.(letter);
    }
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
  return { delivered, failed: undefined, remaining: 0 };
}
