import { type ErrorCode, reasonOf } from '../errors.js';

/** Datagrams dropped, by reason (the error code's short name, e.g. `bad_mac`). */
export class DropCounts {
  private readonly counts = new Map<string, number>();

  /** Counts `count` drops (default one) for `code`. */
  add(code: ErrorCode, count = 1): void {
    const reason = reasonOf(code);
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
