/**
 * A bounded FIFO that makes room by dropping its OLDEST item: under overload the freshest
 * requests are the ones still worth answering (an old one's client may already have retried or
 * given up), and memory never grows past the capacity. Pure: no I/O, no clock.
 */
export class DropOldestQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private size = 0;
  /** Items pushed out to make room, since creation. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Appends an item; when full, first removes and returns the oldest one (counted in `dropped`). */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.size === this.capacity) {
      evicted = this.shift();
      this.dropped++;
    }
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return evicted;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
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
