/**
 * The event journal: numbers each event (sequence numbers strictly increase and are never reused,
 * see sequence-store.ts) and hands it to every subscriber in sequence order: the webhook
 * outboxes first, so an event is durable before it is shown, then the llog stream.
 * Emitting is one call:
 *   journal.emit({ kind: 'reference_clock_wrong', at, detail: '...' })
 */
import type { EventInput, EventKind, SaturnEvent } from './event.js';
import type { SequenceSource } from './sequence-store.js';

/** Receives every event, in sequence order. Must not throw; it runs inside emit(). */
export type EventSubscriber = (event: SaturnEvent) => void;

/** Numbers the events and hands each to every subscriber; counts them by kind. */
export class EventJournal {
  readonly counts = new Map<EventKind, number>();
  readonly #sequence: SequenceSource;
  readonly #reporter: string;
  readonly #subscribers: EventSubscriber[] = [];

  constructor(sequence: SequenceSource, reporter: string) {
    this.#sequence = sequence;
    this.#reporter = reporter;
  }

  /** Adds a subscriber; subscribers run in the order they were added. */
  subscribe(subscriber: EventSubscriber): void {
    this.#subscribers.push(subscriber);
  }

  /** Numbers one event and delivers it to every subscriber; returns it. */
  emit(input: EventInput): SaturnEvent {
    const event: SaturnEvent = { ...input, sequence: this.#sequence.next(), reporter: this.#reporter };
    this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
    for (const subscriber of this.#subscribers) subscriber(event);
    return event;
  }
}
