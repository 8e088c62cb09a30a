/**
 * One check's estimate: the intersection of the intervals of all its samples (SPEC §4).
 * The bound is what every sample proves, not a statistic, so asymmetric delays cannot push the
 * true offset outside offset ± error; they only make the bound wider.
 *
 * Every sample is intersected, not only those at or below the 80th percentile of delay: that
 * filter is what makes the original tool's *average* robust, but an intersection needs no such
 * protection (a slow sample's interval is wide, so it cannot pull the result), and a slow
 * sample is often slow one way only, so one of its edges can still be the tightest of the check.
 * Dropping it would only throw a proof away.
 */
import { type OffsetInterval, halfWidth, intersect, isEmpty, midpoint } from './interval.js';
import { type Sample, sampleInterval } from './sample.js';

/** The result of one check, in nanoseconds. */
export interface Estimate {
  /** Midpoint of the intersection of the kept samples' intervals (slave − master). */
  offsetNs: number;
  /** Half-width of that intersection; the true offset lies in offset ± error. Includes resolution. */
  errorNs: number;
  /** Lowest delay among the samples (clamped at 0: a slightly negative δ is resolution noise). */
  rttNs: number;
  /** Samples intersected (all of them: see the file comment). */
  kept: number;
  /** Samples in the check. */
  total: number;
}

/** Either an estimate or the reason the check gives none. */
export type CheckOutcome =
  | { ok: true; estimate: Estimate }
  | { ok: false; code: 'SATURN_ERR_NO_SAMPLES' | 'SATURN_ERR_INCONSISTENT'; detail: string };

/** Estimates a slave's offset from one check's samples; `resolutionNs` is both clocks' resolutions summed. */
export function estimateCheck(samples: readonly Sample[], resolutionNs: number): CheckOutcome {
  if (!(Number.isFinite(resolutionNs) && resolutionNs >= 0)) {
    throw new RangeError(`resolutionNs must be a finite number >= 0, got ${resolutionNs}`);
  }
  if (samples.length === 0) {
    return { ok: false, code: 'SATURN_ERR_NO_SAMPLES', detail: 'the check has no samples' };
  }
  // One impossible timestamp means the check cannot be trusted.
  const minDelayNs = -2 * resolutionNs;
  for (const [i, sample] of samples.entries()) {
    if (!Number.isFinite(sample.thetaNs) || !Number.isFinite(sample.delayNs)) {
      return { ok: false, code: 'SATURN_ERR_INCONSISTENT', detail: `sample ${i} is not finite` };
    }
    if (sample.delayNs < minDelayNs) {
      return {
        ok: false,
        code: 'SATURN_ERR_INCONSISTENT',
        detail: `sample ${i} has delay ${sample.delayNs} ns, below the ${minDelayNs} ns that resolution allows`,
      };
    }
  }

  let bound: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
  let kept = 0;
  let rttNs = Infinity;
  for (const sample of samples) {
    kept += 1;
    rttNs = Math.min(rttNs, sample.delayNs);
    bound = intersect(bound, sampleInterval(sample, resolutionNs));
  }
  if (isEmpty(bound)) {
    return {
      ok: false,
      code: 'SATURN_ERR_INCONSISTENT',
      detail: `the ${kept} sample intervals do not intersect (${bound.hiNs} ns < ${bound.loNs} ns)`,
    };
  }
  return {
    ok: true,
    estimate: {
      offsetNs: midpoint(bound),
      errorNs: halfWidth(bound),
      rttNs: Math.max(0, rttNs),
      kept,
      total: samples.length,
    },
  };
}
