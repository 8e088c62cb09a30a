/**
 * Per-stage timing summaries. A histogram with logarithmic buckets (4 per power of two, so a
 * quantile is within ~19% of the truth) costs one Math.log2 per sample and never grows: the hot
 * path records numbers, it does not build objects. Pure: durations come in as arguments.
 */

const BUCKETS_PER_OCTAVE = 4;
const BUCKET_COUNT = 64 * BUCKETS_PER_OCTAVE;

/** Count, sum, max and quantiles of durations in nanoseconds. */
export class DurationHistogram {
  private readonly buckets = new Float64Array(BUCKET_COUNT);
  count = 0;
  sumNs = 0;
  maxNs = 0;

  /** Records one duration (negative values, from a clock step, count as 0). */
  record(ns: number): void {
    this.recordMany(ns, 1);
  }

  /** Records `times` samples of the same duration (a whole batch waited as long). */
  recordMany(ns: number, times: number): void {
    const value = ns > 0 ? ns : 0;
    this.count += times;
    this.sumNs += value * times;
    if (value > this.maxNs) this.maxNs = value;
    this.buckets[bucketOf(value)]! += times;
  }

  /** The duration below which a share `q` (0..1) of the samples lie (bucket upper edge). */
  quantileNs(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank && seen > 0) return Math.min(this.maxNs, upperEdge(i));
    }
    return this.maxNs;
  }

  summary(): StageSummary {
    return {
      count: this.count,
      meanUs: this.count === 0 ? 0 : round(this.sumNs / this.count / 1e3),
      p50Us: round(this.quantileNs(0.5) / 1e3),
      p99Us: round(this.quantileNs(0.99) / 1e3),
      maxUs: round(this.maxNs / 1e3),
    };
  }
}

/** A stage's figures in microseconds, as /status and the CLI print them. */
export interface StageSummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

function bucketOf(ns: number): number {
  if (ns < 1) return 0;
  return Math.min(BUCKET_COUNT - 1, 1 + Math.floor(Math.log2(ns) * BUCKETS_PER_OCTAVE));
}

function upperEdge(bucket: number): number {
  return bucket === 0 ? 1 : 2 ** (bucket / BUCKETS_PER_OCTAVE);
}

const round = (value: number): number => Math.round(value * 10) / 10;
