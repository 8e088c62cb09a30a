/**
 * The last hour of each node's combined estimate, for the dashboard plot: a bounded ring per node
 * (3600 points: one an hour at a 1 s interval; at shorter intervals the plot covers less than
 * the hour rather than memory growing). Pure state, fed finished checks with their instants.
 */
import type { Nanos } from '../clock/clock.js';

/** One point of a node's series. */
export interface SeriesPoint {
  at: Nanos;
  offsetNs: number;
  errorNs: number;
}

/** Options of OffsetSeries. */
export interface OffsetSeriesOptions {
  /** Points kept per node. Default 3600. */
  capacity?: number;
  /** How far back points are kept, ns. Default 1 h. */
  windowNs?: number;
}

/** Per-node bounded rings of (instant, offset, error). */
export class OffsetSeries {
  readonly capacity: number;
  readonly windowNs: bigint;
  readonly #nodes = new Map<string, SeriesPoint[]>();

  constructor(options: OffsetSeriesOptions = {}) {
    const { capacity = 3600, windowNs = 3600e9 } = options;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.windowNs = BigInt(Math.round(windowNs));
  }

  /** Adds a point; drops the oldest beyond the capacity or older than the window before `point.at`. */
  add(nodeId: string, point: SeriesPoint): void {
    let points = this.#nodes.get(nodeId);
    if (!points) this.#nodes.set(nodeId, (points = []));
    points.push(point);
    const cutoff = point.at - this.windowNs;
    let drop = Math.max(0, points.length - this.capacity);
    while (drop < points.length && points[drop]!.at < cutoff) drop++;
    if (drop > 0) points.splice(0, drop);
  }

  /** A node's points at or after `since`, oldest first. */
  points(nodeId: string, since: Nanos): SeriesPoint[] {
    return (this.#nodes.get(nodeId) ?? []).filter((p) => p.at >= since);
  }
}
