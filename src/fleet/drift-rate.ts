/**
 * The drift-rate alarm rule as a pure state machine, the twin of ThresholdAlarm: a node drifts too
 * fast when its proven frequency is beyond ±maxDriftPpm, or when at its proven rate it will be
 * proven over the threshold within predictNs (or already is, and is still moving away). "Proven"
 * is the frequency bound (estimate/frequency.ts): the alarm never rests on a rate the checks do
 * not show, so a noisy link (a wide bound) does not raise it.
 *
 * At the proven rate: a node whose frequency is at least f_lo > 0 has its offset's lower edge
 * (offset − error, which must pass the threshold for the threshold alarm) rising at least at f_lo,
 * so it is over the threshold by (threshold − lower edge) / f_lo at the latest. Negative rates
 * mirror this. While the frequency is unknown (a node's first check, or just after its history
 * reset) the alarm keeps its state: a step of the clock neither raises nor clears it.
 *
 * Raised, re-raised and cleared like every alarm (alarm-lifecycle.ts), on monotonic instants.
 */
import type { Nanos } from '../clock/clock.js';
import type { Frequency } from '../estimate/frequency.js';
import { nsToMillisText } from '../log/llog.js';
import { AlarmLifecycle } from './alarm-lifecycle.js';
import { DEFAULT_REALERT_NS } from './threshold.js';

/** Options of a DriftRateAlarm. */
export interface DriftRateAlarmOptions {
  /** The threshold alarm's threshold, ns (>= 0). Required. */
  thresholdNs: number;
  /** Largest tolerated |frequency|, ppm (> 0). Default DEFAULT_MAX_DRIFT_PPM (500). */
  maxDriftPpm?: number;
  /** Alarm when the threshold will be crossed within this, ns (>= 0; 0: never predict). Default 10 min. */
  predictNs?: number;
  /** Interval between repeated alerts while still too fast, ns (>= 0; Infinity: never). Default 10 min. */
  realertNs?: number;
}

/** What an evaluation asks the caller to announce. */
export type DriftRateEvent = 'drift_rate' | 'realert' | 'recovered';

/** A node's drift judged once: the numbers an alert quotes. */
export interface DriftAssessment {
  /** The proven |frequency| is above maxDriftPpm. */
  tooFast: boolean;
  /** At the proven rate the node is over the threshold within predictNs (or already is, drifting on). */
  crossesSoon: boolean;
}

/** The default largest tolerated drift: 500 ppm (an NTP daemon never slews faster; a sane quartz is within 100). */
export const DEFAULT_MAX_DRIFT_PPM = 500;
/** The default prediction horizon: 10 minutes, in nanoseconds. */
export const DEFAULT_PREDICT_NS = 10 * 60 * 1e9;

/** The rule a DriftRateAlarm applies. */
export type DriftRule = Required<Omit<DriftRateAlarmOptions, 'realertNs'>>;

/**
 * Judges one estimate: offset ± error (ns) at a frequency (ppm) against the rules. A frequency
 * whose bound holds 0 never crosses soon; one whose bound holds ±maxDriftPpm is not too fast.
 */
export function assessDrift(offsetNs: number, errorNs: number, frequency: Frequency, rule: DriftRule): DriftAssessment {
  const { loPpm, hiPpm } = frequency;
  const tooFast = loPpm > rule.maxDriftPpm || hiPpm < -rule.maxDriftPpm;
  // The edge of the bound that must pass the threshold, and the slowest rate at which it moves there.
  const direction = loPpm > 0 ? 1 : hiPpm < 0 ? -1 : 0;
  let crossesSoon = false;
  if (direction !== 0 && rule.predictNs > 0) {
    const edgeNs = direction > 0 ? offsetNs - errorNs : offsetNs + errorNs;
    const slowestPpm = direction > 0 ? loPpm : -hiPpm;
    const provenInNs = ((rule.thresholdNs - direction * edgeNs) * 1e6) / slowestPpm;
    crossesSoon = provenInNs <= rule.predictNs;
  }
  return { tooFast, crossesSoon };
}

/** When an offset moving at `ppm` reaches the threshold it heads for, ns from now (<= 0: already past; Infinity: never). */
export function crossingInNs(offsetNs: number, ppm: number, thresholdNs: number): number {
  if (ppm === 0) return Infinity;
  return ((thresholdNs - Math.sign(ppm) * offsetNs) * 1e6) / Math.abs(ppm);
}

/** One node's drift-rate alarm: 'drift_rate' when it starts, 'realert' every realertNs while it lasts, 'recovered' once over. */
export class DriftRateAlarm {
  readonly rule: DriftRule;
  readonly #lifecycle: AlarmLifecycle;

  constructor(options: DriftRateAlarmOptions) {
    const {
      thresholdNs,
      maxDriftPpm = DEFAULT_MAX_DRIFT_PPM,
      predictNs = DEFAULT_PREDICT_NS,
      realertNs = DEFAULT_REALERT_NS,
    } = options;
    if (!(Number.isFinite(thresholdNs) && thresholdNs >= 0)) {
      throw new RangeError(`thresholdNs must be a finite number >= 0, got ${thresholdNs}`);
    }
    if (!(Number.isFinite(maxDriftPpm) && maxDriftPpm > 0)) {
      throw new RangeError(`maxDriftPpm must be a finite number > 0, got ${maxDriftPpm}`);
    }
    if (!(predictNs >= 0)) throw new RangeError(`predictNs must be >= 0, got ${predictNs}`);
    this.rule = { thresholdNs, maxDriftPpm, predictNs };
    this.#lifecycle = new AlarmLifecycle(realertNs);
  }

  get realertNs(): number {
    return this.#lifecycle.realertNs;
  }

  /** True while the alarm is raised (since the last 'drift_rate'). */
  get raised(): boolean {
    return this.#lifecycle.raised;
  }

  /**
   * Feeds one estimate taken at monotonic instant `at`: offset ± error (ns) and the frequency
   * (undefined while unknown: the state is kept). Returns the event to announce, if any.
   */
  evaluate(at: Nanos, offsetNs: number, errorNs: number, frequency: Frequency | undefined): DriftRateEvent | undefined {
    if (!(Number.isFinite(offsetNs) && Number.isFinite(errorNs) && errorNs >= 0)) {
      throw new RangeError(`estimate must have a finite offset and error >= 0, got ${offsetNs} ± ${errorNs}`);
    }
    if (frequency === undefined) return undefined;
    const { tooFast, crossesSoon } = assessDrift(offsetNs, errorNs, frequency, this.rule);
    const step = this.#lifecycle.step(at, tooFast || crossesSoon);
    return step === 'raise' ? 'drift_rate' : step === 'clear' ? 'recovered' : step;
  }
}

const PPM = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, signDisplay: 'exceptZero' });

/** A frequency as people read it: "+5,000 ppm", "-12.3 ppm", "0.512 ppm". */
export function ppmText(ppm: number): string {
  return `${PPM.format(ppm).replace('-', '−')} ppm`;
}

/** A duration to come, roughly: "18 s", "2.8 min", "1.5 h", "3.2 d". */
export function aboutText(ns: number): string {
  const s = ns / 1e9;
  const round = (x: number) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());
  if (s < 100) return `${Math.max(1, Math.round(s))} s`;
  if (s < 100 * 60) return `${round(s / 60)} min`;
  if (s < 48 * 3600) return `${round(s / 3600)} h`;
  return `${round(s / 86400)} d`;
}

/**
 * The sentence of a drift-rate alert: "drifts +5,000 ppm ± 2 ppm, over 100 ms in about 18 s"
 * (a negative rate heads under −threshold; "already" once past it).
 */
export function driftText(offsetNs: number, frequency: Frequency, thresholdNs: number): string {
  const crossInNs = crossingInNs(offsetNs, frequency.ppm, thresholdNs);
  const threshold = nsToMillisText(thresholdNs);
  const limit = frequency.ppm >= 0 ? `over ${threshold} ms` : `under −${threshold} ms`;
  const when = crossInNs <= 0 ? 'already' : Number.isFinite(crossInNs) ? `in about ${aboutText(crossInNs)}` : 'never';
  const bound = ppmText((frequency.hiPpm - frequency.loPpm) / 2).replace(/^[+−]/, '');
  return `drifts ${ppmText(frequency.ppm)} ± ${bound}, ${limit} ${when}`;
}
