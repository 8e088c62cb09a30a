import type { Nanos } from '../clock/clock.js';

export interface SessionTableOptions {
  /** Most sessions kept; the oldest is dropped first (default 65,536). */
  maxSessions?: number;
  /** Sessions older than this are forgotten (default 60 s). */
  maxAgeNs?: number;
}

/**
 * Live and recently finished sessions, bounded in number and age. A Map iterates in insertion
 * order, so the oldest session is always first: eviction is O(1) per dropped entry.
 */
export class SessionTable<S extends { startedAt: Nanos }> {
  private readonly sessions = new Map<bigint, S>();
  private readonly maxSessions: number;
  private readonly maxAgeNs: bigint;
  /** Sessions dropped because the table was full. */
  evicted = 0;

  constructor(options: SessionTableOptions = {}) {
    this.maxSessions = options.maxSessions ?? 65_536;
    this.maxAgeNs = BigInt(options.maxAgeNs ?? 60e9);
    if (!(this.maxSessions >= 1)) throw new RangeError(`maxSessions must be >= 1, got ${this.maxSessions}`);
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: bigint): S | undefined {
    return this.sessions.get(id);
  }

  /** Adds a session, first forgetting expired ones and, when full, the oldest. */
  add(id: bigint, session: S, now: Nanos): void {
    this.expire(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as bigint;
      this.sessions.delete(oldest);
      this.evicted++;
    }
    this.sessions.set(id, session);
  }

  /** Forgets sessions started more than maxAge before `now`. */
  expire(now: Nanos): void {
    for (const [id, s] of this.sessions) {
      if (now - s.startedAt <= this.maxAgeNs) break;
      this.sessions.delete(id);
    }
  }
}
