/**
 * What the operating system offers about time, as a port: the SystemClock reads only this, so
 * tests can script steps of the system clock and preemption between two reads deterministically
 * (a fake OsTime), and production uses Node's (NODE_OS_TIME).
 */
export interface OsTime {
  /** Monotonic nanoseconds (process.hrtime.bigint()). */
  monotonicNs(): bigint;
  /** Wall milliseconds since the Unix epoch, truncated (Date.now()). */
  realtimeMs(): number;
  /** Runs `fn` after about `delayMs` milliseconds; returns what cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
}

/** Node's clocks and timers. */
export const NODE_OS_TIME: OsTime = {
  monotonicNs: () => process.hrtime.bigint(),
  realtimeMs: () => Date.now(),
  schedule(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};
