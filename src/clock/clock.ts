/**
 * Time inside saturn, as TigerBeetle keeps it: two clocks read together.
 *
 * - Wall time (`now()`, `Instant.wall`): what is measured, stamped into packets and printed.
 *   Integer nanoseconds since the Unix epoch as a `bigint` (`Nanos`). It can step when the
 *   system clock is set; the step counter says so.
 * - Monotonic time (`monotonic()`, `Instant.mono`): for every age, timeout and hold. Nanoseconds
 *   since an arbitrary origin; it never steps, so a clock step cannot mark every slave lost or
 *   void a timeout.
 *
 * Differences of instants (offsets, delays, error bounds, ages) are plain `number`s of
 * nanoseconds (exact well beyond a day). Only the edges read a Clock and start its timers;
 * everything below them receives instants as parameters.
 */
export type Nanos = bigint;

/** Both clocks read at one moment. */
export interface Instant {
  /** Wall time, ns since the Unix epoch. */
  readonly wall: Nanos;
  /** Monotonic time, ns since an arbitrary origin. */
  readonly mono: Nanos;
}

/** A scheduled callback; cancel() is harmless after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall time now, nanoseconds since the Unix epoch. */
  now(): Nanos;
  /** Monotonic time now, nanoseconds since an arbitrary origin. */
  monotonic(): Nanos;
  /** Both, from one reading. */
  read(): Instant;
  /** Increments whenever the clock notices a step of the system clock and re-anchors. */
  readonly stepCount: number;
  /** The size of the last step noticed, ns: wall time after it minus before it (0 before any). */
  readonly lastStepNs: number;
  /** Smallest difference the clock can tell apart, in nanoseconds (widens error bounds). */
  readonly resolutionNs: number;
  /** Calls `fn` once, `delayNs` of monotonic time from now. */
  setTimer(delayNs: number, fn: () => void): Timer;
}

/**
 * The offset of one clock from another, in nanoseconds, with saturn's one sign convention:
 * this clock − the reference clock (slave − master, node − agreed time, local − Roughtime);
 * positive when this clock is ahead.
 */
export type OffsetNs = number;

export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** An instant as RFC 3339 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
export function isoNanos(at: Nanos): string {
  const ms = at / 1_000_000n - (at % 1_000_000n < 0n ? 1n : 0n);
  const subMs = at - ms * 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // ...sss Z
  return `${base.slice(0, -1)}${subMs.toString().padStart(6, '0')}Z`;
}
