/**
 * Time inside saturn: an instant is integer nanoseconds since the Unix epoch as a `bigint`
 * (`Nanos`); differences of instants (offsets, delays, error bounds) are plain `number`s of
 * nanoseconds (exact well beyond a day). Only the edge reads a Clock; everything below it
 * receives instants as parameters.
 */
export type Nanos = bigint;

export interface Clock {
  /** Wall time now, nanoseconds since the Unix epoch. */
  now(): Nanos;
  /** Increments whenever the clock notices a step of the system clock and re-anchors. */
  readonly stepCount: number;
  /** Smallest difference the clock can tell apart, in nanoseconds (widens error bounds). */
  readonly resolutionNs: number;
}

export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** An instant as RFC 3339 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
export function isoNanos(at: Nanos): string {
  const ms = at / 1_000_000n - (at % 1_000_000n < 0n ? 1n : 0n);
  const subMs = at - ms * 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // ...sss Z
  return `${base.slice(0, -1)}${subMs.toString().padStart(6, '0')}Z`;
}
