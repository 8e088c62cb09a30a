import type { Clock, Nanos } from './clock.js';

/** A clock that only moves when told to: for deterministic tests and simulations. */
export class SimClock implements Clock {
  readonly resolutionNs: number;
  private nowNs: bigint;
  private steps = 0;

  constructor(startNs: Nanos = 1_700_000_000_000_000_000n, resolutionNs = 1) {
    this.nowNs = startNs;
    this.resolutionNs = resolutionNs;
  }

  get stepCount(): number {
    return this.steps;
  }

  now(): Nanos {
    return this.nowNs;
  }

  /** Moves time forward by `ns` (a normal passage of time). */
  advance(ns: number | bigint): void {
    this.nowNs += BigInt(ns);
  }

  /** Jumps the clock by `ns` and counts a step, as the system clock does when set. */
  step(ns: number | bigint): void {
    this.nowNs += BigInt(ns);
    this.steps++;
  }
}
