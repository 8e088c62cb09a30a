/**
 * The history as the master combined checks before it measured frequencies, kept as the accuracy
 * bench's same-run baseline: the last 8 checks, each older one widened by a fixed 100 ppm × its
 * age and intersected with the newest (the bound; a contradiction restarts from the newest), the
 * point the midpoint of the same intersection at 15 ppm (or of the bound when that is empty).
 * Its bound misses the truth when a clock drifts faster than 100 ppm.
 */
import type { Nanos } from '../../src/clock/clock.js';
import type { Estimate } from '../../src/estimate/check.js';
import { type OffsetInterval, around, intersect, isEmpty, midpoint, widen } from '../../src/estimate/interval.js';

export class FixedDriftHistory {
  #entries: { at: Nanos; interval: OffsetInterval }[] = [];

  constructor(
    readonly driftPpm = 100,
    readonly likelyDriftPpm = 15,
    readonly size = 8,
  ) {}

  add(at: Nanos, estimate: Estimate): { offsetNs: number; errorNs: number } {
    const newest = { at, interval: around(estimate.offsetNs, estimate.errorNs) };
    if (this.#entries.length >= this.size) this.#entries.splice(0, this.#entries.length - this.size + 1);
    let past: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
    let likelyPast: OffsetInterval = { loNs: -Infinity, hiNs: Infinity };
    for (const entry of this.#entries) {
      const ageNs = Number(at - entry.at);
      past = intersect(past, widen(entry.interval, Math.ceil((ageNs * this.driftPpm) / 1e6)));
      likelyPast = intersect(likelyPast, widen(entry.interval, Math.ceil((ageNs * this.likelyDriftPpm) / 1e6)));
    }
    const combined = intersect(past, newest.interval);
    const reset = isEmpty(combined);
    if (reset) this.#entries = [];
    this.#entries.push(newest);
    const bound = reset ? newest.interval : combined;
    const likely = intersect(likelyPast, newest.interval);
    const offsetNs = reset || isEmpty(likely) ? midpoint(bound) : midpoint(likely);
    return { offsetNs, errorNs: Math.max(offsetNs - bound.loNs, bound.hiNs - offsetNs) };
  }
}
