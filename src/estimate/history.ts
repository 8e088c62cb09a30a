/**
 * Per-slave history across checks. Each check's interval stays true for later instants
 * only up to the slave's drift since then, so an older interval is widened by driftPpm × its age
 * before it is intersected with the newest one. Quiet periods sharpen the estimate; one congested
 * check (a wide interval) cannot move it.
 *
 * Reset: if the newest interval does not meet the widened history, some interval is wrong for
 * the clock as it is now — the slave stepped or slewed faster than driftPpm, or a check lied. The
 * newest check describes the clock that exists now, so the history restarts from it alone
 * (reset: true): a real change of a slave's clock must show at once, not be outvoted by old data.
 * The proven interval is always inside the newest check's interval, so the history can only
 * narrow what the newest check says.
 *
 * Bound and point are chosen separately. The bound must hold for any drift up to driftPpm, so it
 * is the drift-widened intersection above. The point estimate uses the drift clocks really show
 * (likelyDriftPpm, default 15 ppm, NTP's PHI): intersecting the same checks widened that little
 * keeps the sharpness of many samples that the worst-case widening throws away. The point is the
 * midpoint of that tighter intersection, which lies inside the proven one, and the error is its
 * distance to the farther edge of the proven interval, so offset ± error still contains everything
 * the proof allows (it can only be wider than the proven half-width, never narrower). When the
 * tighter intersection is empty (the clock drifts faster than likely), the point is the proven
 * midpoint, exactly as without it.
 */
import type { Nanos, OffsetNs } from '../clock/clock.js';
import type { Estimate } from './check.js';
import { type OffsetInterval, around, intersect, isEmpty, midpoint, widen } from './interval.js';

/** Options of an OffsetHistory. */
export interface OffsetHistoryOptions {
  /** How many checks (the newest included) are combined. Default 8. */
  size?: number;
  /** Largest drift rate of the slave's clock relative to the master's, in ppm. Default 100. */
  driftPpm?: number;
  /** Drift assumed for the point estimate only, in ppm (<= driftPpm). Default 15 (or driftPpm if lower). */
  likelyDriftPpm?: number;
}

/** The history's estimate at the newest check's instant, in nanoseconds. */
export interface Combined {
  offsetNs: OffsetNs;
  errorNs: number;
  /** The newest check's RTT: the link as it is now, not the best it ever was. */
  rttNs: number;
  /** How many checks' intervals were combined (1 after a reset). */
  checks: number;
  /** True when the newest check contradicted the history and replaced it. */
  reset: boolean;
}

interface Entry {
  at: Nanos;
  interval: OffsetInterval;
}

/** The default number of checks a history combines. */
export const DEFAULT_HISTORY_SIZE = 8;
/** The default largest drift rate, in ppm (a poor quartz is well within it). */
export const DEFAULT_DRIFT_PPM = 100;
/** The default drift the point estimate assumes: NTP's frequency tolerance PHI (RFC 5905), 15 ppm. */
export const DEFAULT_LIKELY_DRIFT_PPM = 15;

/** A short history of one slave's check estimates, combined by drift-widened intersection. */
export class OffsetHistory {
  readonly size: number;
  readonly driftPpm: number;
  readonly likelyDriftPpm: number;
  #entries: Entry[] = [];

  constructor(options: OffsetHistoryOptions = {}) {
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    const driftPpm = options.driftPpm ?? DEFAULT_DRIFT_PPM;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be an integer >= 1, got ${size}`);
    if (!(Number.isFinite(driftPpm) && driftPpm >= 0)) {
      throw new RangeError(`driftPpm must be a finite number >= 0, got ${driftPpm}`);
    }
    const likelyDriftPpm = options.likelyDriftPpm ?? Math.min(DEFAULT_LIKELY_DRIFT_PPM, driftPpm);
    if (!(Number.isFinite(likelyDriftPpm) && likelyDriftPpm >= 0 && likelyDriftPpm <= driftPpm)) {
      throw new RangeError(
        `likelyDriftPpm must be a finite number from 0 to driftPpm (${driftPpm}), got ${likelyDriftPpm}`,
      );
    }
    this.size = size;
    this.driftPpm = driftPpm;
    this.likelyDriftPpm = likelyDriftPpm;
  }

  /** Checks currently held. */
  get length(): number {
    return this.#entries.length;
  }

  /** Adds a check's estimate measured at `at` and returns the combined estimate at `at`. */
  add(at: Nanos, estimate: Estimate): Combined {
    if (!(Number.isFinite(estimate.offsetNs) && Number.isFinite(estimate.errorNs) && estimate.errorNs >= 0)) {
      throw new RangeError(
        `estimate must have a finite offset and error >= 0, got ${estimate.offsetNs} ± ${estimate.errorNs}`,
      );
    }
    const newest: Entry = { at, interval: around(estimate.offsetNs, estimate.errorNs) };

    // The newest takes one of the `size` places: drop the oldest first so at most `size` are combined.
    if (this.#entries.length >= this.size) this.#entries.splice(0, this.#entries.length - this.size + 1);
    let past: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
    let likelyPast: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
    for (const entry of this.#entries) {
      past = intersect(past, widen(entry.interval, this.#driftNs(at, entry.at, this.driftPpm)));
      likelyPast = intersect(likelyPast, widen(entry.interval, this.#driftNs(at, entry.at, this.likelyDriftPpm)));
    }
    const combined = intersect(past, newest.interval);

    const reset = isEmpty(combined);
    if (reset) this.#entries = [];
    this.#entries.push(newest);

    const bound = reset ? newest.interval : combined;
    const likely = intersect(likelyPast, newest.interval); // inside `combined`: less widening
    const offsetNs = reset || isEmpty(likely) ? midpoint(bound) : midpoint(likely);
    return {
      offsetNs,
      errorNs: Math.max(offsetNs - bound.loNs, bound.hiNs - offsetNs),
      rttNs: estimate.rttNs,
      checks: reset ? 1 : this.#entries.length,
      reset,
    };
  }

  /**
   * How far the offset can have moved between two instants. The age is taken as an absolute
   * value (the bound is symmetric in time), so an out-of-order `at` gives a loose but true bound.
   * Rounded up so float rounding never makes the bound narrower than the drift allows.
   */
  #driftNs(now: Nanos, then: Nanos, ppm: number): number {
    const ageNs = Number(now >= then ? now - then : then - now);
    return Math.ceil((ageNs * ppm) / 1e6);
  }
}
