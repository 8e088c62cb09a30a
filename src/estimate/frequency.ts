/**
 * A clock's frequency offset (how fast its offset changes, in ppm) from a history of intervals
 * that each hold the true offset at their instant, with a bound that holds whenever they do.
 *
 * The model: over the history's span the clock's frequency stays within a band `wander` wide,
 * at any value (a quartz at any error, a clock being slewed at a steady rate, a faketime'd one).
 * The offset is then a path whose slope stays in [f_lo, f_hi] with f_hi − f_lo ≤ wander, and the
 * data allow exactly the bands for which such a path passes through every interval. With wander
 * 0 that is a line through every interval: the linear program in (intercept, slope) of a line
 * through intervals. Its feasible slopes follow from the pairs alone:
 *
 *   for every pair i < j (Δ = t_j − t_i > 0):  G_lo = max (lo_j − hi_i)/Δ,  G_hi = min (hi_j − lo_i)/Δ
 *
 * A slope f fits every interval iff G_lo ≤ f ≤ G_hi (for a fixed f the intercept must lie in
 * every [lo_i − f·t_i, hi_i − f·t_i]; intervals of a line intersect iff they intersect pairwise).
 * With wander W a band [f_lo, f_hi] fits iff f_hi ≥ G_lo, f_lo ≤ G_hi and f_hi − f_lo ≤ W (subtract
 * the band's middle slope: what remains must be a path with |slope| ≤ W/2 through the shifted
 * intervals, which on a line exists iff it exists pairwise). So:
 *
 * - the data contradict the model iff G_lo − G_hi > W (no band fits: the clock was stepped, or
 *   changed its frequency by more than W, or a timestamp lied);
 * - otherwise every frequency of every band that fits lies in [G_lo − W, G_hi + W], which is the
 *   proven bound, and the point estimate is its middle.
 *
 * The bound needs no assumed largest rate: a clock 5,000 ppm fast is measured as such. What it
 * assumes is the wander: a clock that changes its rate by more than W within the span can be
 * mis-bounded until the intervals show the change, which they do once it has moved the offset
 * by more than their widths.
 *
 * Pure: instants are numbers of nanoseconds on any one time axis (the caller's monotonic clock);
 * no clock is read.
 */
import type { Nanos } from '../clock/clock.js';
import type { OffsetInterval } from './interval.js';

/** One check as the frequency estimate reads it: an instant and the interval holding the true offset then. */
export interface TimedInterval {
  at: Nanos;
  interval: OffsetInterval;
}

/** A frequency offset (this clock's rate − the reference's), in ppm: positive, this clock runs fast. */
export interface Frequency {
  /** The middle of the proven bound, ppm. */
  ppm: number;
  /** The frequency lies in [loPpm, hiPpm] wherever the model holds. */
  loPpm: number;
  hiPpm: number;
  /** Time from the oldest to the newest interval used, ns. */
  spanNs: number;
  /** Intervals used. */
  intervals: number;
}

/** The frequency, or why there is none. */
export type FrequencyOutcome =
  | { ok: true; frequency: Frequency }
  | { ok: false; reason: 'too_few'; detail: string }
  | { ok: false; reason: 'inconsistent'; detail: string };

/** The slopes (dimensionless, ns per ns) of the lines through every interval: [lo, hi]; lo > hi when none. */
export interface SlopeBounds {
  lo: number;
  hi: number;
}

/**
 * The pairwise slope bounds G_lo and G_hi over three parallel arrays sorted by instant. Pairs at
 * one instant do not bound a slope; if their intervals are disjoint no path fits at all
 * ({lo: Infinity, hi: −Infinity}). Fewer than two instants: (−∞, ∞). O(n²) in the points:
 * callers keep n small (the history thins its points).
 */
export function slopeBounds(atNs: ArrayLike<number>, loNs: ArrayLike<number>, hiNs: ArrayLike<number>): SlopeBounds {
  let lo = -Infinity;
  let hi = Infinity;
  for (let j = 1; j < atNs.length; j++) {
    for (let i = 0; i < j; i++) {
      const dt = atNs[j]! - atNs[i]!;
      if (dt > 0) {
        lo = Math.max(lo, (loNs[j]! - hiNs[i]!) / dt);
        hi = Math.min(hi, (hiNs[j]! - loNs[i]!) / dt);
      } else if (loNs[j]! > hiNs[i]! || loNs[i]! > hiNs[j]!) {
        return { lo: Infinity, hi: -Infinity };
      }
    }
  }
  return { lo, hi };
}

/** True when no band `wanderPpm` wide fits the slope bounds: the data contradict the model. */
export function contradicts(bounds: SlopeBounds, wanderPpm: number): boolean {
  return !(bounds.lo - bounds.hi <= wanderPpm / 1e6);
}

/** Float rounding of a slope is ~1e-16 of it; the bound is widened by far more, so it never narrows by rounding. */
const ROUNDING_PPM = 1e-9;

/**
 * The frequency the slope bounds prove under the model with `wanderPpm`; undefined when they
 * prove none (fewer than two instants, or a contradiction).
 */
export function frequencyOf(
  bounds: SlopeBounds,
  wanderPpm: number,
  spanNs: number,
  intervals: number,
): Frequency | undefined {
  if (contradicts(bounds, wanderPpm) || !(Number.isFinite(bounds.lo) && Number.isFinite(bounds.hi))) return undefined;
  const loPpm = bounds.lo * 1e6 - wanderPpm;
  const hiPpm = bounds.hi * 1e6 + wanderPpm;
  return {
    ppm: (loPpm + hiPpm) / 2,
    loPpm: loPpm - ROUNDING_PPM * (1 + Math.abs(loPpm)),
    hiPpm: hiPpm + ROUNDING_PPM * (1 + Math.abs(hiPpm)),
    spanNs,
    intervals,
  };
}

/**
 * How far a clock's frequency may wander within a history's span, ppm, unless told otherwise: a
 * quartz's rate moves by tenths of a ppm with the temperature over an hour, and an NTP daemon
 * slews a clock by a few ppm to correct an offset of a millisecond (chrony takes three update
 * intervals to correct it; ntpd's time constant is longer). A faster change is not assumed away:
 * once the checks show it, the model is contradicted and the history restarts.
 */
export const DEFAULT_WANDER_PPM = 5;

/**
 * The frequency of a clock whose offset lies in each of `points`' intervals at its instant
 * (e.g. a node's checks, or its consensus offsets), within a band `wanderPpm` wide. O(n²) in the points.
 */
export function estimateFrequency(points: readonly TimedInterval[], wanderPpm = DEFAULT_WANDER_PPM): FrequencyOutcome {
  if (!(Number.isFinite(wanderPpm) && wanderPpm >= 0)) {
    throw new RangeError(`wanderPpm must be a finite number >= 0, got ${wanderPpm}`);
  }
  for (const p of points) {
    if (!(Number.isFinite(p.interval.loNs) && Number.isFinite(p.interval.hiNs) && p.interval.loNs <= p.interval.hiNs)) {
      throw new RangeError(`every interval must be finite and non-empty, got [${p.interval.loNs}, ${p.interval.hiNs}]`);
    }
  }
  const sorted = [...points].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const origin = sorted[0]?.at ?? 0n;
  // Relative to the oldest: exact as numbers for spans up to 104 days.
  const atNs = sorted.map((p) => Number(p.at - origin));
  const bounds = slopeBounds(
    atNs,
    sorted.map((p) => p.interval.loNs),
    sorted.map((p) => p.interval.hiNs),
  );
  const spanNs = atNs.at(-1) ?? 0;
  if (spanNs === 0 && !contradicts(bounds, wanderPpm)) {
    return { ok: false, reason: 'too_few', detail: `${points.length} interval(s) at one instant bound no rate` };
  }
  const frequency = frequencyOf(bounds, wanderPpm, spanNs, points.length);
  if (!frequency) {
    return {
      ok: false,
      reason: 'inconsistent',
      detail: `no frequency band ${wanderPpm} ppm wide passes through all ${points.length} intervals`,
    };
  }
  return { ok: true, frequency };
}

/**
 * The frequency of a clock against a third one from its frequency against a middle one and the
 * middle one's against the third: a's rate − c's = (a − b) + (b − c), so the rates and their
 * bounds add as intervals (every band allowed for each is within its bound). Span and intervals
 * are those of the shorter-lived of the two (the one that says less).
 */
export function addFrequencies(ab: Frequency, bc: Frequency): Frequency {
  const loPpm = ab.loPpm + bc.loPpm;
  const hiPpm = ab.hiPpm + bc.hiPpm;
  return {
    ppm: (loPpm + hiPpm) / 2,
    loPpm,
    hiPpm,
    spanNs: Math.min(ab.spanNs, bc.spanNs),
    intervals: Math.min(ab.intervals, bc.intervals),
  };
}

/**
 * An interval that held a clock's offset `ageNs` ago, carried to now at the clock's frequency
 * bound: [lo + f_lo·age, hi + f_hi·age] (ns; the frequency's own bound makes it hold wherever the
 * frequency's does). Without a frequency nothing is known of the motion, and the interval is
 * returned as it was (the caller's data are as old as they are).
 */
export function carryInterval(
  interval: OffsetInterval,
  frequency: Frequency | undefined,
  ageNs: number,
): OffsetInterval {
  if (frequency === undefined || !(ageNs > 0)) return interval;
  return {
    loNs: interval.loNs + (frequency.loPpm / 1e6) * ageNs,
    hiNs: interval.hiNs + (frequency.hiPpm / 1e6) * ageNs,
  };
}
