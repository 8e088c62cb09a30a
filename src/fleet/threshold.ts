/**
 * The alert rule as a pure state machine: a slave is over threshold when |offset| − error >
 * threshold, i.e. when even the most favourable offset the bound allows is too far, so a noisy
 * link alone (wide bound) never raises the alarm. The caller passes `at`, a monotonic instant:
 * the re-alert interval is an age.
 */
import type { Nanos } from '../clock/clock.js';
import { AlarmLifecycle } from './alarm-lifecycle.js';

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
  readonly #lifecycle: AlarmLifecycle;

  constructor(options: ThresholdAlarmOptions) {
    const { thresholdNs, realertNs = DEFAULT_REALERT_NS } = options;
    if (!(Number.isFinite(thresholdNs) && thresholdNs >= 0)) {
      throw new RangeError(`thresholdNs must be a finite number >= 0, got ${thresholdNs}`);
    }
    this.thresholdNs = thresholdNs;
    this.#lifecycle = new AlarmLifecycle(realertNs);
  }

  get realertNs(): number {
    return this.#lifecycle.realertNs;
  }

  /** True while the slave is over threshold (since the last 'drift'). */
  get over(): boolean {
    return this.#lifecycle.raised;
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
    const step = this.#lifecycle.step(at, this.isOver(offsetNs, errorNs));
    return step === 'raise' ? 'drift' : step === 'clear' ? 'recovered' : step;
  }
}
