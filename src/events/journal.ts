/**
 * The event journal: numbers each event (sequence numbers strictly increase and are never reused,
 * see sequence-store.ts), makes it durable, and only then hands it to every subscriber (the llog
 * stream, webhook delivery), in sequence order.
 *
 * `emit()` runs where events arise, inside a datagram handler or a timer, so it does no I/O: it
 * numbers the event in memory and queues it. The queue is committed in groups, off that path: one
 * commit at a time, each taking every event queued so far, with one write and one fsync per file
 * (the sequence block, each webhook outbox) on libuv's thread pool. Events that arrive during a
 * commit form the next group, so a burst (a thousand slaves drifting at once) costs a few fsyncs,
 * not a thousand, and none of them on the main thread. A commit that fails (a full disk) leaves its
 * events queued, in memory, and is tried again after a backoff; nothing is shown before it is
 * durable. Emitting is one call:
 *   journal.emit({ kind: 'reference_clock_wrong', at, detail: '...' })
 */
import type { Clock, Timer } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log/diagnostics.js';
import { type BackoffOptions, retryDelayMs } from '../util/backoff.js';
import type { EventInput, EventKind, SaturnEvent } from './event.js';
import type { SequenceSource } from './sequence-store.js';
import { errorCode } from './state-fs.js';

/** Receives every event once it is durable, in sequence order. Must not throw (a throw is logged). */
export type EventSubscriber = (event: SaturnEvent) => void;

/** Where a group of events is made durable. */
export interface JournalStore {
  /**
   * Resolves once every event of the group (in sequence order) is durable; rejects if a write
   * failed. Called again with the same events (and newer ones) after a failure, so it must skip
   * what an earlier, partly failed call already wrote.
   */
  commit(events: readonly SaturnEvent[]): Promise<void>;
}

/** Retrying a failed commit: 100 ms doubling to 30 s, a little random. */
export const COMMIT_BACKOFF: BackoffOptions = { initialMs: 100, factor: 2, maxMs: 30_000, jitter: 0.2 };

export interface JournalOptions {
  /** The name of the node that raises the events. */
  reporter: string;
  sequence: SequenceSource;
  /** Where events are made durable; none: they are only numbered. */
  store?: JournalStore;
  clock: Clock;
  logger: Logger;
  backoff?: BackoffOptions;
}

/** What the journal has done, for /metrics. */
export interface JournalStats {
  /** Groups committed. */
  commits: number;
  /** Failed commits, by error code (ENOSPC, EIO, …). */
  commitFailures: Map<string, number>;
}

/** Numbers, commits and publishes events; counts them by kind. */
export class EventJournal {
  readonly counts = new Map<EventKind, number>();
  readonly stats: JournalStats = { commits: 0, commitFailures: new Map() };
  readonly #options: JournalOptions;
  readonly #subscribers: EventSubscriber[] = [];
  /** Emitted, not yet durable, in sequence order. */
  #queue: SaturnEvent[] = [];
  #committing: Promise<void> | undefined;
  #retryTimer: Timer | undefined;
  #failedAttempts = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: JournalOptions) {
    this.#options = options;
  }

  /** Adds a subscriber; subscribers run in the order they were added. */
  subscribe(subscriber: EventSubscriber): void {
    this.#subscribers.push(subscriber);
  }

  /** Events emitted and not yet durable (shown to nobody yet). */
  get uncommitted(): number {
    return this.#queue.length;
  }

  /** Numbers one event and queues it for the next commit; returns it. No I/O, never throws. */
  emit(input: EventInput): SaturnEvent {
    const event: SaturnEvent = { ...input, sequence: this.#options.sequence.next(), reporter: this.#options.reporter };
    this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
    if (this.#closed) {
      // Shutdown closes the services before the journal; an event after that is a bug, but not a silent one.
      this.#options.logger.error({ event }, 'event raised after the journal closed: not recorded');
      return event;
    }
    this.#queue.push(event);
    this.#kick();
    return event;
  }

  /** Resolves once every event emitted so far is durable and published (tests, shutdown). */
  flushed(): Promise<void> {
    if (this.#queue.length === 0 && !this.#committing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops: waits for the commit under way, tries once more to commit what is queued, and logs at
   * ERROR every event that still could not be made durable (it is lost with this process).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    await this.#committing;
    if (this.#queue.length > 0) await this.#commitQueued();
    for (const event of this.#queue)
      this.#options.logger.error({ event }, 'event lost at shutdown: the state dir did not take it');
    this.#queue = [];
    this.#wakeIdle();
  }

  /** Starts a commit unless one is under way or waiting for its retry. */
  #kick(): void {
    if (this.#committing || this.#retryTimer || this.#closed || this.#queue.length === 0) return;
    this.#committing = this.#commitQueued().finally(() => {
      this.#committing = undefined;
      this.#kick();
      this.#wakeIdle();
    });
  }

  /** Commits every queued event as one group; publishes them, or arms the retry. */
  async #commitQueued(): Promise<void> {
    // Leave the caller (a datagram handler) first: the commit runs after it returns.
    await Promise.resolve();
    const group = this.#queue.slice();
    if (group.length === 0) return;
    const { store, logger, clock } = this.#options;
    try {
      await this.#options.sequence.reserve(group.at(-1)!.sequence);
      await store?.commit(group);
    } catch (err) {
      this.#failedAttempts++;
      const code = errorCode(err);
      this.stats.commitFailures.set(code, (this.stats.commitFailures.get(code) ?? 0) + 1);
      const delayMs = retryDelayMs(this.#failedAttempts, this.#options.backoff ?? COMMIT_BACKOFF);
      logger.error(
        {
          code: 'SATURN_ERR_STATE_WRITE' satisfies ErrorCode,
          errno: code,
          err: (err as Error).message,
          uncommitted: this.#queue.length,
          sequences: `${group[0]!.sequence}-${group.at(-1)!.sequence}`,
          attempt: this.#failedAttempts,
          retryInMs: Math.round(delayMs),
        },
        'cannot make events durable: they are kept in memory, not shown yet, and retried',
      );
      if (!this.#closed) {
        this.#retryTimer = clock.setTimer(delayMs * 1e6, () => {
          this.#retryTimer = undefined;
          this.#kick();
        });
      }
      return;
    }
    if (this.#failedAttempts > 0) {
      logger.warn(
        { events: group.length, failedAttempts: this.#failedAttempts },
        'events durable again after failed attempts: shown and delivered now',
      );
    }
    this.#failedAttempts = 0;
    this.stats.commits++;
    this.#queue.splice(0, group.length);
    for (const event of group) this.#publish(event);
  }

  #publish(event: SaturnEvent): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event);
      } catch (err) {
        this.#options.logger.error(
          { sequence: event.sequence, err: (err as Error).message },
          'event subscriber failed',
        );
      }
    }
  }

  #wakeIdle(): void {
    if (this.#queue.length > 0 && !this.#closed) return;
    if (this.#committing) return;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }
}
