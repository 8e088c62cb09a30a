/**
 * The master's own frequency relative to the agreed time: how fast the master's clock runs
 * against the time the majority of the fleet shares. A node's frequency relative to the agreed
 * time is then its frequency relative to the master plus this one (addFrequencies), so a master
 * whose clock drifts shows as the one that drifts, not as every slave drifting the other way.
 *
 * Each consensus with a majority gives the agreed time's offset from the master as an interval
 * (agreed − master, consensus.ts); the master's offset from the agreed time is its negation,
 * [−hi, −lo] (master − agreed, the one sign convention: this clock − its reference). These
 * intervals, one per master interval at most, go into an OffsetHistory on the monotonic instants
 * of their evaluations: an hour of them, thinned, bounded in memory, and their frequency bounded
 * by the same proof as a slave's (frequency.ts), reset when the agreed time jumps (the majority
 * changed its members, or a member was stepped) so that no band fits. The intervals hold at the
 * evaluation's instant because the consensus compares estimates carried to that instant.
 *
 * Without a majority there is no agreed time: nothing is recorded and no frequency is given,
 * but the history is kept for when the majority is back (a contradiction then resets it).
 *
 * Pure: instants come in, no clock is read.
 */
import type { Nanos } from '../clock/clock.js';
import type { Frequency } from '../estimate/frequency.js';
import { OffsetHistory } from '../estimate/history.js';
import { halfWidth, midpoint } from '../estimate/interval.js';
import type { Consensus } from './consensus.js';

/** Agreed-time offsets kept for the frequency (thinned over the window). */
export const MASTER_FREQUENCY_CAPACITY = 32;

export class MasterFrequency {
  readonly #history: OffsetHistory;
  readonly #minGapNs: bigint;
  #lastAt: Nanos | undefined;
  /** The history's frequency as of the last offset recorded. */
  #recorded: Frequency | undefined;
  #majority = false;

  /** `minGapNs`: evaluations closer than this to the last one recorded are skipped (the master's --interval). */
  constructor(minGapNs: number, windowNs?: number) {
    if (!(Number.isFinite(minGapNs) && minGapNs >= 0)) {
      throw new RangeError(`minGapNs must be a finite number >= 0, got ${minGapNs}`);
    }
    this.#minGapNs = BigInt(Math.round(minGapNs));
    this.#history = new OffsetHistory({ size: 1, capacity: MASTER_FREQUENCY_CAPACITY, windowNs });
  }

  /**
   * The master's frequency relative to the agreed time (master − agreed, ppm; positive: the
   * master runs fast), as of the last consensus; undefined without a majority or before two
   * of its evaluations, a master interval apart, have been recorded.
   */
  get frequency(): Frequency | undefined {
    return this.#majority ? this.#recorded : undefined;
  }

  /** Agreed-time offsets held. */
  get length(): number {
    return this.#history.length;
  }

  /** Takes the consensus evaluated at monotonic instant `at`. */
  observe(at: Nanos, consensus: Consensus): void {
    const agreed = consensus.majority ? consensus.agreed : undefined;
    this.#majority = agreed !== undefined && Number.isFinite(agreed.loNs) && Number.isFinite(agreed.hiNs);
    if (!this.#majority) return;
    if (this.#lastAt !== undefined && at >= this.#lastAt && at - this.#lastAt < this.#minGapNs) return;
    this.#lastAt = at;
    this.#recorded = this.#history.add(at, {
      offsetNs: -midpoint(agreed!),
      errorNs: halfWidth(agreed!),
      rttNs: 0,
      kept: 0,
      total: 0,
    }).frequency;
  }
}
