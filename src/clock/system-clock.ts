import { type Clock, type Instant, type Nanos, NS_PER_MS, type Timer } from './clock.js';
import { NODE_OS_TIME, type OsTime } from './os-time.js';

export interface SystemClockOptions {
  /** Added to every reading; a testing aid behind `--clock-offset` (default 0). */
  offsetNs?: number;
  /**
   * A testing aid: from monotonic instant `sinceMono` on, wall time runs `ppm` fast (negative:
   * slow), as a clock with a frequency error does; the accuracy bench drifts a clock with it.
   */
  drift?: { ppm: number; sinceMono: bigint };
  /** How many Date.now() tick-overs the anchor is the median of (default 7: one can be hundreds of µs off). */
  anchorTicks?: number;
  /** A disagreement with Date.now() beyond this is a step of the system clock (default 2 ms). */
  stepToleranceNs?: number;
  /** The operating system's clocks and timers (default Node's); tests script their own. */
  os?: OsTime;
}

/**
 * Wall time as "realtime anchor + monotonic elapsed", with nanosecond resolution; monotonic time
 * and timers straight from the OS.
 *
 * Date.now() only has milliseconds, so the anchor (realtime minus monotonic) is taken at the
 * instants where Date.now() ticks over: there realtime is an exact multiple of a millisecond.
 * One tick can be off by up to a few hundred µs (preemption), the median of several is not.
 * Every reading also compares itself with Date.now(): a disagreement beyond the tolerance means
 * the system clock was stepped, and the clock re-anchors and counts the step.
 */
export class SystemClock implements Clock {
  private anchorNs: bigint;
  private anchorSpreadNs: number;
  private readonly offsetNs: bigint;
  private readonly drift: { ppm: number; sinceMono: bigint } | undefined;
  private readonly ticks: number;
  private readonly stepToleranceNs: bigint;
  private readonly os: OsTime;
  private steps = 0;
  private lastStep = 0;

  constructor(options: SystemClockOptions = {}) {
    const offsetNs = options.offsetNs ?? 0;
    if (!Number.isFinite(offsetNs)) throw new RangeError(`clock offset must be finite, got ${offsetNs}`);
    this.offsetNs = BigInt(Math.round(offsetNs));
    if (options.drift && !Number.isFinite(options.drift.ppm)) {
      throw new RangeError(`clock drift must be finite, got ${options.drift.ppm} ppm`);
    }
    this.drift = options.drift;
    this.ticks = options.anchorTicks ?? 7;
    this.stepToleranceNs = BigInt(options.stepToleranceNs ?? 2 * NS_PER_MS);
    this.os = options.os ?? NODE_OS_TIME;
    // Twice, keeping the tighter: the first measurement in a fresh process runs cold (JIT, page faults).
    const first = measureAnchorWithSpread(this.ticks, this.os);
    const second = measureAnchorWithSpread(this.ticks, this.os);
    ({ anchorNs: this.anchorNs, spreadNs: this.anchorSpreadNs } = second.spreadNs <= first.spreadNs ? second : first);
  }

  /**
   * 1 µs (hrtime's readings are finer) or, if larger, how far the anchor's middle tick-overs
   * disagree: the anchor's own uncertainty, which every reading inherits.
   */
  get resolutionNs(): number {
    return Math.max(1_000, this.anchorSpreadNs);
  }

  get stepCount(): number {
    return this.steps;
  }

  get lastStepNs(): number {
    return this.lastStep;
  }

  now(): Nanos {
    return this.read().wall;
  }

  monotonic(): Nanos {
    return this.os.monotonicNs();
  }

  read(): Instant {
    const mono = this.os.monotonicNs();
    if (this.inStep(mono, this.os.realtimeMs())) return this.instant(mono);
    return this.confirmStep();
  }

  /** The reading at monotonic `mono`: the anchor, then the testing aids (after the step check, which they must not trip). */
  private instant(mono: bigint): Instant {
    const driftNs = this.drift ? BigInt(Math.round((this.drift.ppm * Number(mono - this.drift.sinceMono)) / 1e6)) : 0n;
    return { wall: this.anchorNs + mono + this.offsetNs + driftNs, mono };
  }

  setTimer(delayNs: number, fn: () => void): Timer {
    return { cancel: this.os.schedule(delayNs / NS_PER_MS, fn) };
  }

  /** Date.now() truncates to the millisecond below, so wall − realtime lies in [0, 1 ms) when in step. */
  private inStep(mono: bigint, realtimeMs: number): boolean {
    const drift = this.anchorNs + mono - BigInt(realtimeMs) * 1_000_000n;
    return drift >= -this.stepToleranceNs && drift <= this.stepToleranceNs + 1_000_000n;
  }

  /**
   * A disagreement is a step only if a tight re-read confirms it: the process may simply have been
   * preempted between its two reads (seen under load on a busy 2-core machine).
   */
  private confirmStep(): Instant {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = this.os.monotonicNs();
      const realtimeMs = this.os.realtimeMs();
      const after = this.os.monotonicNs();
      if (after - before > 100_000n) continue; // preempted again: this read proves nothing
      if (this.inStep(before, realtimeMs)) return this.instant(after);
      break;
    }
    const before = this.anchorNs;
    ({ anchorNs: this.anchorNs, spreadNs: this.anchorSpreadNs } = measureAnchorWithSpread(this.ticks, this.os));
    this.steps++;
    this.lastStep = Number(this.anchorNs - before);
    return this.instant(this.os.monotonicNs());
  }
}

/**
 * The median over `ticks` tick-overs of the OS's realtime of (realtime − monotonic), and the
 * spread of the middle samples (all but the lowest and highest), in ns.
 */
export function measureAnchorWithSpread(
  ticks: number,
  os: OsTime = NODE_OS_TIME,
): { anchorNs: bigint; spreadNs: number } {
  const samples: bigint[] = [];
  for (let i = 0; i < ticks; i++) {
    const start = os.realtimeMs();
    let before = os.monotonicNs();
    // Busy-wait for the next millisecond boundary (at most ~1 ms each); it falls between
    // `before` and `after` of the read that first sees the new millisecond.
    for (;;) {
      const ms = os.realtimeMs();
      const after = os.monotonicNs();
      if (ms !== start) {
        samples.push(BigInt(ms) * 1_000_000n - (before + after) / 2n);
        break;
      }
      before = after;
    }
  }
  samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const inner = samples.length > 2 ? samples.slice(1, -1) : samples;
  return { anchorNs: samples[samples.length >> 1]!, spreadNs: Number(inner.at(-1)! - inner[0]!) };
}
