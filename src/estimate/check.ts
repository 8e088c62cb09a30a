/**
 * One check's estimate: the intersection of the intervals of its low-delay samples (the samples
 * whose delay is at or below the check's 80th percentile: the original tool's filter, done right).
 * The bound is what every sample proves, not a statistic, so asymmetric delays cannot push the
 * true offset outside offset ± error; they only make the bound wider.
 */
import type { OffsetNs } from '../clock/clock.js';
import { type OffsetInterval, halfWidth, intersect, isEmpty, midpoint } from './interval.js';
import { type Sample, sampleInterval } from './sample.js';

/** The result of one check, in nanoseconds. */
export interface Estimate {
  /** Midpoint of the intersection of the kept samples' intervals (slave − master). */
  offsetNs: OffsetNs;
  /** Half-width of that intersection; the true offset lies in offset ± error. Includes resolution. */
  errorNs: number;
  /** Lowest delay among the kept samples (clamped at 0: a slightly negative δ is resolution noise). */
  rttNs: number;
  /** Samples that passed the delay filter. */
  kept: number;
  /** Samples in the check. */
  total: number;
}

/** Either an estimate or the reason the check gives none. */
export type CheckOutcome =
  | { ok: true; estimate: Estimate }
  | { ok: false; code: 'SATURN_ERR_NO_SAMPLES' | 'SATURN_ERR_INCONSISTENT'; detail: string };

/** The share of a check's delays the filter keeps, as the original tool's rule intends. */
const KEEP_PERCENTILE = 80;

/**
 * The 80th percentile of `delaysNs` by the nearest-rank definition: the smallest delay such that
 * at least 80% of the delays are at or below it, i.e. the ceil(0.8 × n)-th lowest.
 * n = 1..4 keeps all, 5 keeps the 4 lowest, 8 the 7 lowest, 10 the 8 lowest.
 */
export function delayCutNs(delaysNs: readonly number[]): number {
  const sorted = [...delaysNs].sort((a, b) => a - b);
  // Integer ceil(p × n / 100) so that 0.8 × 5 cannot round to 4.000…1 and take a fifth sample.
  const rank = Math.ceil((KEEP_PERCENTILE * sorted.length) / 100);
  const cut = sorted[rank - 1];
  if (cut === undefined) throw new RangeError(`delayCutNs needs at least one delay, got ${delaysNs.length}`);
  return cut;
}

/** Estimates a slave's offset from one check's samples; `resolutionNs` is both clocks' resolutions summed. */
export function estimateCheck(samples: readonly Sample[], resolutionNs: number): CheckOutcome {
  if (!(Number.isFinite(resolutionNs) && resolutionNs >= 0)) {
    throw new RangeError(`resolutionNs must be a finite number >= 0, got ${resolutionNs}`);
  }
  if (samples.length === 0) {
    return { ok: false, code: 'SATURN_ERR_NO_SAMPLES', detail: 'the check has no samples' };
  }
  // Every sample is checked, kept or not: one impossible timestamp means the check cannot be trusted.
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

  const cutNs = delayCutNs(samples.map((s) => s.delayNs));
  let bound: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
  let kept = 0;
  let rttNs = Infinity;
  for (const sample of samples) {
    if (sample.delayNs > cutNs) continue; // ties at the cut are kept
    kept += 1;
    rttNs = Math.min(rttNs, sample.delayNs);
    bound = intersect(bound, sampleInterval(sample, resolutionNs));
  }
  if (isEmpty(bound)) {
    return {
      ok: false,
      code: 'SATURN_ERR_INCONSISTENT',
      detail: `the ${kept} kept sample intervals do not intersect (${bound.hiNs} ns < ${bound.loNs} ns)`,
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
