/**
 * The last hour of a node's combined estimate, for the dashboard plot: a bounded ring (at most
 * 3600 points: one an hour at a 1 s interval; at shorter intervals the plot covers less than the
 * hour rather than memory growing). Pure state, fed finished checks with their wall instants.
 *
 * Stored in typed arrays, 12 bytes a point (the instant in whole milliseconds from a base the
 * ring keeps, int32; offset and error as float32 µs: plenty for a plot), and each ring starts
 * small and grows by a quarter as needed (doubling left a node at a 10 s interval with 512 slots
 * for its 361 points): 10,000 slaves at a 10 s interval keep an hour in 43-54 MB, where float64
 * instants and doubling took 82 MB and objects with bigint instants ~300 MB.
 */
import type { Nanos } from '../clock/clock.js';
import { DEFAULT_HISTORY_WINDOW_NS } from '../estimate/history.js';

/** One point of a node's series. */
export interface SeriesPoint {
  at: Nanos;
  offsetNs: number;
  errorNs: number;
}

/** Options of an OffsetSeries. */
export interface OffsetSeriesOptions {
  /** Points kept per node. Default 3600. */
  capacity?: number;
  /** How far back points are kept, ns. Default 1 h. */
  windowNs?: number;
}

/** How far back a series keeps points by default: the hour the history measures the frequency over, ns. */
export const DEFAULT_SERIES_WINDOW_NS = DEFAULT_HISTORY_WINDOW_NS;

const INITIAL_POINTS = 16;
/** A full ring grows to this many times its size (rounded up): at most 25% of it unused for good. */
const GROWTH = 1.25;

/** Milliseconds an instant may lie from its ring's base (int32) before the base moves. */
const MAX_FROM_BASE_MS = 2 ** 31 - 1;

/**
 * One node's ring: `start` is the oldest point, `length` points follow it (wrapping). Instants are
 * whole ms from `baseMs` (a wall instant in ms; the wall clock may step back, so they may be negative).
 */
class Ring {
  atMs: Int32Array;
  offsetUs: Float32Array;
  errorUs: Float32Array;
  baseMs = 0;
  start = 0;
  length = 0;

  constructor(size: number) {
    this.atMs = new Int32Array(size);
    this.offsetUs = new Float32Array(size);
    this.errorUs = new Float32Array(size);
  }

  get size(): number {
    return this.atMs.length;
  }

  index(i: number): number {
    return (this.start + i) % this.size;
  }

  /** The wall instant of slot `j`, ms. */
  msAt(j: number): number {
    return this.baseMs + this.atMs[j]!;
  }

  /** Stores wall instant `ms` (whole ms) in slot `j`, moving the base first if it is out of reach. */
  setMs(j: number, ms: number): void {
    if (this.length === 0) this.baseMs = ms;
    else if (Math.abs(ms - this.baseMs) > MAX_FROM_BASE_MS) this.rebase(ms);
    this.atMs[j] = ms - this.baseMs;
  }

  /**
   * Moves the base to `ms`, the newest point: the others are within the window of it (at most
   * MAX_FROM_BASE_MS), unless the wall clock stepped by more, when they are pinned to that reach.
   */
  private rebase(ms: number): void {
    for (let i = 0; i < this.length; i++) {
      const j = this.index(i);
      this.atMs[j] = Math.max(-MAX_FROM_BASE_MS, Math.min(MAX_FROM_BASE_MS, this.msAt(j) - ms));
    }
    this.baseMs = ms;
  }

  /** Grows the ring by GROWTH (up to `max`), unrolling it so that the oldest point is first. */
  grow(max: number): void {
    const size = Math.min(max, Math.ceil(this.size * GROWTH));
    const next = new Ring(size);
    next.baseMs = this.baseMs;
    for (let i = 0; i < this.length; i++) {
      const j = this.index(i);
      next.atMs[i] = this.atMs[j]!;
      next.offsetUs[i] = this.offsetUs[j]!;
      next.errorUs[i] = this.errorUs[j]!;
    }
    this.atMs = next.atMs;
    this.offsetUs = next.offsetUs;
    this.errorUs = next.errorUs;
    this.start = 0;
  }
}

/** One node's bounded ring of (instant, offset, error) for the dashboard's plot. */
export class OffsetSeries {
  readonly capacity: number;
  readonly windowNs: bigint;
  #ring: Ring;

  constructor(options: OffsetSeriesOptions = {}) {
    const { capacity = 3600, windowNs = DEFAULT_SERIES_WINDOW_NS } = options;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    // Every point of a window is within int32 ms of the newest one, where the base moves to.
    if (!(windowNs > 0 && windowNs <= MAX_FROM_BASE_MS * 1e6)) {
      throw new RangeError(`windowNs must be > 0 and at most ${MAX_FROM_BASE_MS * 1e6} (24.8 days), got ${windowNs}`);
    }
    this.capacity = capacity;
    this.windowNs = BigInt(Math.round(windowNs));
    this.#ring = new Ring(Math.min(INITIAL_POINTS, capacity));
  }

  /** Points the ring has room for now (it grows as needed, up to `capacity`). */
  get allocated(): number {
    return this.#ring.size;
  }

  /** Adds a point; drops the oldest beyond the capacity or older than the window before `point.at`. */
  add(point: SeriesPoint): void {
    const ring = this.#ring;
    const atMs = Number(point.at / 1_000_000n);
    const cutoffMs = atMs - Number(this.windowNs / 1_000_000n);
    while (ring.length > 0 && ring.msAt(ring.start) < cutoffMs) {
      ring.start = ring.index(1);
      ring.length--;
    }
    if (ring.length === ring.size && ring.size < this.capacity) ring.grow(this.capacity);
    if (ring.length === ring.size) {
      ring.start = ring.index(1); // full at capacity: the oldest goes
      ring.length--;
    }
    const j = ring.index(ring.length);
    ring.setMs(j, atMs);
    ring.offsetUs[j] = point.offsetNs / 1e3;
    ring.errorUs[j] = point.errorNs / 1e3;
    ring.length++;
  }

  /** The points at or after `since`, oldest first. */
  points(since: Nanos): SeriesPoint[] {
    const ring = this.#ring;
    const sinceMs = Number(since / 1_000n) / 1e3;
    const out: SeriesPoint[] = [];
    for (let i = 0; i < ring.length; i++) {
      const j = ring.index(i);
      const ms = ring.msAt(j);
      if (ms < sinceMs) continue;
      out.push({
        at: BigInt(ms) * 1_000_000n,
        offsetNs: Math.round(ring.offsetUs[j]! * 1e3),
        errorNs: Math.round(ring.errorUs[j]! * 1e3),
      });
    }
    return out;
  }
}
