/**
 * Token buckets per key (a source address, say), on monotonic nanoseconds passed in: pure, no
 * clock. A key may take `burst` at once, then `ratePerSecond` on average. The set of keys is
 * bounded: past `maxKeys`, the key unheard of longest is forgotten (and starts again full).
 */
export interface TokenBucketOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Most keys remembered (default 65,536). */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  atMono: bigint;
}

export class TokenBuckets<K> {
  private readonly buckets = new Map<K, Bucket>();
  private readonly ratePerNs: number;
  private readonly burst: number;
  private readonly maxKeys: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${options.ratePerSecond}`);
    if (!(options.burst >= 1)) throw new RangeError(`burst must be >= 1, got ${options.burst}`);
    this.ratePerNs = options.ratePerSecond / 1e9;
    this.burst = options.burst;
    this.maxKeys = options.maxKeys ?? 65_536;
    if (!(this.maxKeys >= 1)) throw new RangeError(`maxKeys must be >= 1, got ${options.maxKeys}`);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key` at monotonic instant `nowMono`; false when its bucket is empty. */
  take(key: K, nowMono: bigint): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as K);
      bucket = { tokens: this.burst, atMono: nowMono };
    } else {
      this.buckets.delete(key); // re-inserted below: the Map stays ordered by last use
      const elapsed = nowMono > bucket.atMono ? Number(nowMono - bucket.atMono) : 0;
      bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.ratePerNs);
      bucket.atMono = nowMono;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
