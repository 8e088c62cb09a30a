/**
 * A bounded FIFO that makes room by dropping its OLDEST items: under overload the freshest
 * requests are the ones still worth answering (an old one's client may already have retried or
 * given up), and memory never grows past the capacity. It is bounded twice: by count, and by
 * the bytes its items weigh (`weigh`), so a few large items cannot cost what many small ones do.
 * Pure: no I/O, no clock.
 */
export class DropOldestQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private size = 0;
  /** Bytes the queued items weigh. */
  private weight = 0;
  /** Items pushed out to make room (or refused, when one alone outweighs the queue), since creation. */
  dropped = 0;

  /**
   * @param capacity most items held
   * @param byteCapacity most bytes held, as `weigh` counts them (default: no byte bound)
   * @param weigh an item's bytes (default 0)
   */
  constructor(
    readonly capacity: number,
    readonly byteCapacity = Number.POSITIVE_INFINITY,
    private readonly weigh: (item: T) => number = () => 0,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    if (!(byteCapacity > 0)) throw new RangeError(`queue byte capacity must be positive, got ${byteCapacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Bytes the queued items weigh. */
  get bytes(): number {
    return this.weight;
  }

  /**
   * Appends an item, first removing the oldest ones until it fits both bounds (each counted in
   * `dropped`). An item heavier than the whole byte capacity is refused (counted) and nothing is
   * evicted for it. Returns how many items were dropped.
   */
  push(item: T): number {
    const weight = this.weigh(item);
    if (weight > this.byteCapacity) {
      this.dropped++;
      return 1;
    }
    let evicted = 0;
    while (this.size === this.capacity || this.weight + weight > this.byteCapacity) {
      this.shift();
      this.dropped++;
      evicted++;
    }
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    this.weight += weight;
    return evicted;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.weight -= this.weigh(item);
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /** Removes up to `max` of the oldest items, in order. */
  take(max: number): T[] {
    const count = Math.min(max, this.size);
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = this.shift()!;
    return out;
  }
}
