/**
 * The alert rule as a pure state machine: a slave is over threshold when |offset| − error >
 * threshold, i.e. when even the most favourable offset the bound allows is too far, so a noisy
 * link alone (wide bound) never raises the alarm. The caller passes `at`, a monotonic instant:
 * the re-alert interval is an age.
 */
import type { Nanos } from '../clock/clock.js';

/** Options of a ThresholdAlarm. */
export interface ThresholdAlarmOptions {
  /** Largest tolerated |offset|, in nanoseconds (>= 0). Required. */
  thresholdNs: number;
  /** Interval between repeated alerts while still over, in ns (>= 0; Infinity: never). Default 10 min. */
  realertNs?: number;
}

/** What an evaluation asks the caller to announce. */
export type ThresholdEvent = 'drift' | 'realert' | 'recovered';

/** The default re-alert interval: 10 minutes, in nanoseconds. */
export const DEFAULT_REALERT_NS = 10 * 60 * 1e9;

/** One slave's alarm: 'drift' on crossing, 'realert' every realertNs while over, 'recovered' once back under. */
export class ThresholdAlarm {
  readonly thresholdNs: number;
  readonly realertNs: number;
  #lastAlertAt: Nanos | undefined; // set while over: when (monotonic) 'drift' or the last 'realert' was raised

  constructor(options: ThresholdAlarmOptions) {
    const { thresholdNs, realertNs = DEFAULT_REALERT_NS } = options;
    if (!(Number.isFinite(thresholdNs) && thresholdNs >= 0)) {
      throw new RangeError(`thresholdNs must be a finite number >= 0, got ${thresholdNs}`);
    }
    if (Number.isNaN(realertNs) || realertNs < 0) throw new RangeError(`realertNs must be >= 0, got ${realertNs}`);
    this.thresholdNs = thresholdNs;
    this.realertNs = realertNs;
  }

  /** True while the slave is over threshold (since the last 'drift'). */
  get over(): boolean {
    return this.#lastAlertAt !== undefined;
  }

  /** Whether an estimate proves the offset beyond the threshold. */
  isOver(offsetNs: number, errorNs: number): boolean {
    return Math.abs(offsetNs) - errorNs > this.thresholdNs;
  }

  /** Feeds one estimate taken at monotonic instant `at`; returns the event to announce, if any. */
  evaluate(at: Nanos, offsetNs: number, errorNs: number): ThresholdEvent | undefined {
    if (!(Number.isFinite(offsetNs) && Number.isFinite(errorNs) && errorNs >= 0)) {
      throw new RangeError(`estimate must have a finite offset and error >= 0, got ${offsetNs} ± ${errorNs}`);
    }
    const last = this.#lastAlertAt;
    if (!this.isOver(offsetNs, errorNs)) {
      this.#lastAlertAt = undefined;
      return last === undefined ? undefined : 'recovered';
    }
    if (last === undefined) {
      this.#lastAlertAt = at;
      return 'drift';
    }
    // A clock that went backwards (at < last) gives a negative age: no realert until it catches up.
    if (Number(at - last) >= this.realertNs) {
      this.#lastAlertAt = at;
      return 'realert';
    }
    return undefined;
  }
}
