import type { Clock, Instant, Nanos, Timer } from './clock.js';

interface Scheduled {
  readonly dueMono: bigint;
  readonly order: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * The one simulated clock of the tests and simulations: wall and monotonic time move only when
 * told, and timers run when the monotonic time they wait for is reached, in order, each seeing the
 * time it was due at. `step()` moves the wall clock alone and counts a step, as setting the system
 * clock does.
 */
export class SimClock implements Clock {
  readonly resolutionNs: number;
  private wallNs: bigint;
  private monoNs: bigint;
  private steps = 0;
  private lastStep = 0;
  private timers: Scheduled[] = [];
  private scheduled = 0;

  constructor(startNs: Nanos = 1_700_000_000_000_000_000n, resolutionNs = 1) {
    this.wallNs = startNs;
    this.monoNs = 0n;
    this.resolutionNs = resolutionNs;
  }

  get stepCount(): number {
    return this.steps;
  }

  get lastStepNs(): number {
    return this.lastStep;
  }

  now(): Nanos {
    return this.wallNs;
  }

  monotonic(): Nanos {
    return this.monoNs;
  }

  read(): Instant {
    return { wall: this.wallNs, mono: this.monoNs };
  }

  setTimer(delayNs: number, fn: () => void): Timer {
    const timer: Scheduled = {
      dueMono: this.monoNs + BigInt(Math.max(0, Math.ceil(delayNs))),
      order: this.scheduled++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers scheduled and neither run nor cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves both clocks forward by `ns` (a normal passage of time), running every timer that falls
   * due on the way, in order, with the clock at the instant it was due.
   */
  advance(ns: number | bigint): void {
    if (BigInt(ns) < 0n) throw new RangeError(`time only moves forward, got ${ns}`);
    const target = this.monoNs + BigInt(ns);
    for (;;) {
      const next = this.nextDue();
      if (next === undefined || next.dueMono > target) break;
      this.moveTo(next.dueMono);
      this.timers.splice(this.timers.indexOf(next), 1);
      next.fn();
    }
    this.moveTo(target);
  }

  /** Jumps the wall clock by `ns` and counts a step; monotonic time and timers do not move. */
  step(ns: number | bigint): void {
    this.wallNs += BigInt(ns);
    this.steps++;
    this.lastStep = Number(ns);
  }

  private moveTo(mono: bigint): void {
    this.wallNs += mono - this.monoNs;
    this.monoNs = mono;
  }

  private nextDue(): Scheduled | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let next: Scheduled | undefined;
    for (const t of this.timers) {
      if (next === undefined || t.dueMono < next.dueMono || (t.dueMono === next.dueMono && t.order < next.order))
        next = t;
    }
    return next;
  }
}
