import type { Clock, Nanos } from '../clock/clock.js';
import type { EventSubject } from '../events/event.js';
import type { EventJournal } from '../events/journal.js';
import { nsToMillisText } from '../log/llog.js';

/**
 * Tells of this node's own clock steps: one `clock_step` event (WARN) for each step its clock
 * noticed. Checks spanning a step are discarded by the protocol; this says why, and that what
 * follows is measured against a clock that moved. The edges call poll() after they read the
 * clock (a datagram, a timer); between steps it costs one comparison.
 */
export class ClockStepReporter {
  private seen: number;

  constructor(
    private readonly clock: Clock,
    private readonly journal: EventJournal,
    private readonly subject: () => EventSubject,
  ) {
    this.seen = clock.stepCount;
  }

  /** Emits an event if the clock stepped since the last call, and says whether it did; `at` is the instant the edge read. */
  poll(at: Nanos): boolean {
    const steps = this.clock.stepCount;
    if (steps === this.seen) return false;
    const count = steps - this.seen;
    this.seen = steps;
    const stepNs = this.clock.lastStepNs;
    const by = `${stepNs >= 0 ? '+' : ''}${nsToMillisText(stepNs)} ms`;
    this.journal.emit({
      kind: 'clock_step',
      at,
      node: this.subject(),
      offsetNs: stepNs,
      detail:
        (count === 1
          ? `this node's clock was stepped by ${by}`
          : `${count} steps of this node's clock, the last by ${by}`) + '; checks that span it are discarded',
    });
    return true;
  }
}
