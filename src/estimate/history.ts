/**
 * Per-slave history across checks: the slave's frequency, and its offset sharpened by its older
 * checks carried forward at that frequency.
 *
 * Each check's interval holds the true offset at its instant. The history keeps the checks of
 * the last `windowNs` (an hour by default: the newest `size` as they came, older ones thinned
 * to at most `capacity`, keeping the narrower of two close checks) and bounds the frequency from
 * them (frequency.ts): within the window the frequency stays in a band `wanderPpm` wide, at any
 * value. Then an older check's interval [lo, hi], Δ before the newest, holds the offset now
 * within [lo + f_lo·Δ, hi + f_hi·Δ], and the newest `size` checks carried forward are
 * intersected with the newest. No largest drift rate is assumed: a clock drifting at 130 ppm or
 * 5,000 ppm is measured and carried at its rate, and while the rate is not yet known (one check)
 * nothing is carried.
 *
 * Reset: when no frequency band fits the checks (a step, a change of rate by more than the
 * wander, a check that lied), the history restarts from the newest check and `reset` says so: a
 * real change of a clock must show at once, not be outvoted by old data. (Keeping the newest
 * checks that still fit would keep a step's check with the one before it: two checks always fit
 * a line, and a 300 ms step 10 s after the last check would read as 30,000 ppm.) The proven
 * interval is always inside the newest check's, so the history can only narrow what the newest
 * check says.
 *
 * Bound and point are chosen separately. The bound is the intersection above, at the proven
 * frequency bound. The point is the middle of the same intersection at the point frequency,
 * each carried interval widened by the least rate error (ε·Δ) that makes them meet: exactly the
 * intersection when the checks fit a line at that frequency, a little more when noise says
 * otherwise. That intersection lies inside the proven one (ε never exceeds the bound's
 * half-width), and the error is the point's distance to the farther edge of the proven interval,
 * so offset ± error contains everything the proof allows.
 *
 * Instants are on one monotonic time axis (the master's monotonic clock), so a step of the
 * master's wall clock does not stretch the ages. Pure: no clock is read.
 */
import type { Nanos, OffsetNs } from '../clock/clock.js';
import type { Estimate } from './check.js';
import { type Frequency, DEFAULT_WANDER_PPM, contradicts, frequencyOf, slopeBounds } from './frequency.js';

/** Options of an OffsetHistory. */
export interface OffsetHistoryOptions {
  /** How many checks (the newest included) are combined for the offset. Default 8. */
  size?: number;
  /** Most checks kept for the frequency (the newest `size` and older ones, thinned); >= size + 2. Default 32. */
  capacity?: number;
  /** How far back checks inform the frequency, ns. Default 1 h. */
  windowNs?: number;
  /** How far the frequency may wander within the window, ppm. Default DEFAULT_WANDER_PPM (5). */
  wanderPpm?: number;
}

/** The history's estimate at the newest check's instant, in nanoseconds. */
export interface Combined {
  offsetNs: OffsetNs;
  errorNs: number;
  /** The newest check's RTT: the link as it is now, not the best it ever was. */
  rttNs: number;
  /** How many checks' intervals were combined (1 after a reset). */
  checks: number;
  /** True when the newest check contradicted the history and older checks were dropped. */
  reset: boolean;
  /** The slave's frequency over the history's checks; undefined while one instant is all there is. */
  frequency: Frequency | undefined;
}

/** The default number of checks a history combines for the offset. */
export const DEFAULT_HISTORY_SIZE = 8;
/** The default number of checks kept for the frequency. */
export const DEFAULT_HISTORY_CAPACITY = 32;
/** The default span of checks the frequency is measured over: an hour. */
export const DEFAULT_HISTORY_WINDOW_NS = 3600e9;

/**
 * Every carried interval is widened by this much: float rounding of a slope times an age is
 * ~1e-6 ns, so the bound never narrows by rounding.
 */
const ROUNDING_NS = 1e-3;

/** A history of one slave's check intervals, combined at their proven frequency. */
export class OffsetHistory {
  readonly size: number;
  readonly capacity: number;
  readonly windowNs: number;
  readonly wanderPpm: number;
  /** Instants are kept as ns since #origin (exact as numbers for 104 days; rebased as checks leave). */
  #origin: Nanos = 0n;
  #at: number[] = [];
  #lo: number[] = [];
  #hi: number[] = [];

  constructor(options: OffsetHistoryOptions = {}) {
    const {
      size = DEFAULT_HISTORY_SIZE,
      capacity = Math.max(DEFAULT_HISTORY_CAPACITY, size + 2),
      windowNs = DEFAULT_HISTORY_WINDOW_NS,
      wanderPpm = DEFAULT_WANDER_PPM,
    } = options;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be an integer >= 1, got ${size}`);
    if (!Number.isInteger(capacity) || capacity < size + 2) {
      throw new RangeError(`capacity must be an integer >= size + 2 (${size + 2}), got ${capacity}`);
    }
    if (!(windowNs > 0)) throw new RangeError(`windowNs must be > 0, got ${windowNs}`);
    if (!(Number.isFinite(wanderPpm) && wanderPpm >= 0)) {
      throw new RangeError(`wanderPpm must be a finite number >= 0, got ${wanderPpm}`);
    }
    this.size = size;
    this.capacity = capacity;
    this.windowNs = windowNs;
    this.wanderPpm = wanderPpm;
  }

  /** Checks currently held (for the offset and the frequency). */
  get length(): number {
    return this.#at.length;
  }

  /** Adds a check's estimate measured at monotonic instant `at` and returns the combined estimate at `at`. */
  add(at: Nanos, estimate: Estimate): Combined {
    if (!(Number.isFinite(estimate.offsetNs) && Number.isFinite(estimate.errorNs) && estimate.errorNs >= 0)) {
      throw new RangeError(
        `estimate must have a finite offset and error >= 0, got ${estimate.offsetNs} ± ${estimate.errorNs}`,
      );
    }
    // A check older than the newest held (never from one monotonic clock) starts the history afresh.
    let reset = this.length > 0 && at < this.#origin + BigInt(this.#at.at(-1)!);
    if (reset || this.length === 0) this.#restart(at);
    this.#at.push(Number(at - this.#origin));
    this.#lo.push(estimate.offsetNs - estimate.errorNs);
    this.#hi.push(estimate.offsetNs + estimate.errorNs);

    const newestAt = this.#at.at(-1)!;
    let old = 0;
    while (this.#at[old]! < newestAt - this.windowNs) old++;
    this.#dropOldest(old);
    while (this.length > this.capacity) this.#thin();

    // No frequency band fits them all: the newest check describes the clock as it is now.
    let bounds = slopeBounds(this.#at, this.#lo, this.#hi);
    if (contradicts(bounds, this.wanderPpm)) {
      reset = true;
      this.#dropOldest(this.length - 1);
      bounds = { lo: -Infinity, hi: Infinity };
    }
    const frequency = frequencyOf(bounds, this.wanderPpm, this.#at.at(-1)! - this.#at[0]!, this.length);
    const combined = this.#combine(frequency);
    return { ...combined, rttNs: estimate.rttNs, reset: reset || combined.reset };
  }

  /** The newest `size` checks carried to the newest's instant: the proven interval and the point in it. */
  #combine(frequency: Frequency | undefined): Omit<Combined, 'rttNs'> {
    const n = this.length - 1;
    const from = Math.max(0, this.length - this.size);
    const loRate = frequency ? frequency.loPpm / 1e6 : -Infinity;
    const hiRate = frequency ? frequency.hiPpm / 1e6 : Infinity;
    let lo = this.#lo[n]!;
    let hi = this.#hi[n]!;
    for (let i = from; i < n; i++) {
      const ageNs = this.#at[n]! - this.#at[i]!;
      if (ageNs === 0) {
        lo = Math.max(lo, this.#lo[i]!);
        hi = Math.min(hi, this.#hi[i]!);
      } else {
        lo = Math.max(lo, this.#lo[i]! + loRate * ageNs - ROUNDING_NS);
        hi = Math.min(hi, this.#hi[i]! + hiRate * ageNs + ROUNDING_NS);
      }
    }
    const checks = n - from + 1;
    if (!(lo <= hi)) {
      // Only rounding can get here (one band fits every check): start again from the newest.
      this.#dropOldest(n);
      return {
        offsetNs: (this.#lo[0]! + this.#hi[0]!) / 2,
        errorNs: (this.#hi[0]! - this.#lo[0]!) / 2,
        checks: 1,
        reset: true,
        frequency: undefined,
      };
    }
    // To the whole ns, the error rounded up so that offset ± error still covers [lo, hi]: carried
    // checks have fractions of a ns that mean nothing and would print as 13 decimals in llog lines.
    const point = Math.round(
      frequency ? Math.min(hi, Math.max(lo, this.#point(from, frequency.ppm / 1e6))) : (lo + hi) / 2,
    );
    return { offsetNs: point, errorNs: Math.ceil(Math.max(point - lo, hi - point)), checks, reset: false, frequency };
  }

  /**
   * The middle of the checks from `from` on carried at `rate`, each widened by ε × its age with
   * the least ε that makes them meet (every pair i, j must overlap: ε ≥ (a_i − b_j)/(age_i + age_j)).
   */
  #point(from: number, rate: number): number {
    const n = this.length - 1;
    const ages: number[] = [];
    const los: number[] = [];
    const his: number[] = [];
    for (let i = from; i <= n; i++) {
      const ageNs = this.#at[n]! - this.#at[i]!;
      ages.push(ageNs);
      los.push(this.#lo[i]! + rate * ageNs);
      his.push(this.#hi[i]! + rate * ageNs);
    }
    let epsilon = 0;
    for (let i = 0; i < ages.length; i++) {
      for (let j = 0; j < ages.length; j++) {
        const sum = ages[i]! + ages[j]!;
        if (sum > 0) epsilon = Math.max(epsilon, (los[i]! - his[j]!) / sum);
      }
    }
    let lo = -Infinity;
    let hi = Infinity;
    for (let i = 0; i < ages.length; i++) {
      lo = Math.max(lo, los[i]! - epsilon * ages[i]!);
      hi = Math.min(hi, his[i]! + epsilon * ages[i]!);
    }
    return (lo + hi) / 2;
  }

  /** Forgets everything; the next check's instant becomes the origin. */
  #restart(origin: Nanos): void {
    this.#origin = origin;
    this.#at = [];
    this.#lo = [];
    this.#hi = [];
  }

  /** Drops the `count` oldest checks and rebases the instants on the oldest left. */
  #dropOldest(count: number): void {
    if (count <= 0) return;
    this.#at.splice(0, count);
    this.#lo.splice(0, count);
    this.#hi.splice(0, count);
    const shift = this.#at[0]!;
    this.#origin += BigInt(shift);
    for (let i = 0; i < this.#at.length; i++) this.#at[i] = this.#at[i]! - shift;
  }

  /**
   * Makes room: of the two closest neighbours among the checks older than the newest `size`, the
   * wider goes. The span stays covered and the narrow checks, which bound the frequency, stay.
   */
  #thin(): void {
    const older = this.length - this.size; // >= 2: capacity >= size + 2
    let closest = 0;
    for (let i = 1; i + 1 < older; i++) {
      if (this.#at[i + 1]! - this.#at[i]! < this.#at[closest + 1]! - this.#at[closest]!) closest = i;
    }
    const width = (i: number) => this.#hi[i]! - this.#lo[i]!;
    const drop = width(closest + 1) >= width(closest) ? closest + 1 : closest;
    if (drop === 0) return this.#dropOldest(1);
    this.#at.splice(drop, 1);
    this.#lo.splice(drop, 1);
    this.#hi.splice(drop, 1);
  }
}
