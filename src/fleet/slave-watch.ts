/**
 * The `slave_lost` rule (SPEC §6) as pure state: a slave is lost when no check of it finished for
 * `lostAfterNs` (3 intervals). It is announced once, and again only after it came back and was
 * lost anew. The master calls sweep() from a timer with the time it read; nothing here reads a clock.
 */
import type { Nanos } from '../clock/clock.js';
import type { EventSubject } from '../events/event.js';

/** How many intervals of silence make a slave lost. */
export const LOST_AFTER_INTERVALS = 3;

interface Watched {
  node: EventSubject;
  lastSeenAt: Nanos;
  lost: boolean;
}

/** Tracks when each slave was last heard of. */
export class SlaveWatch {
  readonly #lostAfterNs: bigint;
  readonly #nodes = new Map<string, Watched>();

  constructor(lostAfterNs: number) {
    if (!(Number.isFinite(lostAfterNs) && lostAfterNs > 0))
      throw new RangeError(`lostAfterNs must be > 0, got ${lostAfterNs}`);
    this.#lostAfterNs = BigInt(Math.round(lostAfterNs));
  }

  /** A check of `node` finished at `at` (good or discarded: either way it is alive). Returns true if it had been lost. */
  seen(node: EventSubject, at: Nanos): boolean {
    const watched = this.#nodes.get(node.id);
    if (!watched) {
      this.#nodes.set(node.id, { node, lastSeenAt: at, lost: false });
      return false;
    }
    const wasLost = watched.lost;
    watched.node = node;
    if (at > watched.lastSeenAt) watched.lastSeenAt = at;
    watched.lost = false;
    return wasLost;
  }

  /** The slaves that became lost by `now` since the last sweep, with when they were last seen. */
  sweep(now: Nanos): { node: EventSubject; lastSeenAt: Nanos }[] {
    const lost: { node: EventSubject; lastSeenAt: Nanos }[] = [];
    for (const watched of this.#nodes.values()) {
      if (watched.lost || now - watched.lastSeenAt < this.#lostAfterNs) continue;
      watched.lost = true;
      lost.push({ node: watched.node, lastSeenAt: watched.lastSeenAt });
    }
    return lost;
  }

  /** Whether a slave is currently lost. */
  isLost(id: string): boolean {
    return this.#nodes.get(id)?.lost ?? false;
  }
}
