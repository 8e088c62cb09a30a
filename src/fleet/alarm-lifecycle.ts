/**
 * The lifecycle every alarm on the master shares, as a pure state machine: raised once when its
 * condition starts to hold, raised again every `realertNs` while it holds, cleared once when it
 * stops. The caller passes `at`, a monotonic instant: the re-alert interval is an age. The rules
 * (threshold.ts, drift-rate.ts) decide whether the condition holds; this decides what to announce.
 */
import type { Nanos } from '../clock/clock.js';

/** What a step asks the caller to announce. */
export type AlarmStep = 'raise' | 'realert' | 'clear';

export class AlarmLifecycle {
  readonly realertNs: number;
  #lastAlertAt: Nanos | undefined; // set while raised: when (monotonic) it was raised or last re-raised

  /** `realertNs` >= 0; Infinity never re-raises, 0 re-raises on every step. */
  constructor(realertNs: number) {
    if (Number.isNaN(realertNs) || realertNs < 0) throw new RangeError(`realertNs must be >= 0, got ${realertNs}`);
    this.realertNs = realertNs;
  }

  /** True from a 'raise' until the next 'clear'. */
  get raised(): boolean {
    return this.#lastAlertAt !== undefined;
  }

  /** Whether the condition holds at monotonic instant `at`; returns what to announce, if anything. */
  step(at: Nanos, holds: boolean): AlarmStep | undefined {
    const last = this.#lastAlertAt;
    if (!holds) {
      this.#lastAlertAt = undefined;
      return last === undefined ? undefined : 'clear';
    }
    if (last === undefined) {
      this.#lastAlertAt = at;
      return 'raise';
    }
    // A clock that went backwards (at < last) gives a negative age: no realert until it catches up.
    if (Number(at - last) >= this.realertNs) {
      this.#lastAlertAt = at;
      return 'realert';
    }
    return undefined;
  }
}
