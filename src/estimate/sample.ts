/**
 * One four-timestamp sample of a check, as NTP defines it. The master times the sample:
 * t1 master sends a Response (master clock), t2 slave receives it (slave clock),
 * t3 slave sends its next Report (slave clock), t4 master receives it (master clock).
 * Sign convention: offset = slave clock − master clock (positive: the slave is ahead).
 */
import type { Nanos } from '../clock/clock.js';
import type { OffsetInterval } from './interval.js';

/** θ and δ of one sample, in nanoseconds. */
export interface Sample {
  /** θ = ((t2 − t1) + (t3 − t4)) / 2: the midpoint of the sample's interval. */
  thetaNs: number;
  /** δ = (t4 − t1) − (t3 − t2): round trip minus the slave's processing time. */
  delayNs: number;
}

/** Builds a sample from its four timestamps; the differences are taken in bigint, then converted. */
export function sampleFrom(t1: Nanos, t2: Nanos, t3: Nanos, t4: Nanos): Sample {
  // Instants are ~1.8e18 ns, far beyond 2^53: subtract exactly first, convert the small differences after.
  const forwardNs = Number(t2 - t1); // slave-clock arrival minus master-clock departure = offset + outbound delay
  const backwardNs = Number(t3 - t4); // slave-clock departure minus master-clock arrival = offset − return delay
  return { thetaNs: (forwardNs + backwardNs) / 2, delayNs: forwardNs - backwardNs };
}

/**
 * The interval that must contain the true offset when both one-way delays are ≥ 0:
 * [θ − δ/2, θ + δ/2] (that is [t3 − t4, t2 − t1]), widened on each side by `resolutionNs`,
 * the sum of both clocks' resolutions (each difference mixes one reading of each clock).
 * Empty (lo > hi) when δ < −2 × resolutionNs: no real exchange can produce that.
 */
export function sampleInterval(sample: Sample, resolutionNs: number): OffsetInterval {
  const halfDelayNs = sample.delayNs / 2;
  return {
    loNs: sample.thetaNs - halfDelayNs - resolutionNs,
    hiNs: sample.thetaNs + halfDelayNs + resolutionNs,
  };
}
