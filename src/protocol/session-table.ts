import type { Nanos } from '../clock/clock.js';

export interface SessionTableOptions {
  /** Most sessions kept; the one idle longest is dropped first (default 65,536). */
  maxSessions?: number;
  /**
   * Sessions with no fresh leg for this long are forgotten (default 10 s: an initiator gives up
   * on a silent leg after 4 tries of at most 1 s each).
   */
  maxIdleNs?: number;
}

/** The default of SessionTableOptions.maxIdleNs. */
export const DEFAULT_MAX_IDLE_NS = 10e9;

/**
 * Live and recently finished sessions, bounded in number and idle time. A Map iterates in insertion
 * order and a session is re-inserted on every fresh leg, so the session idle longest is always
 * first: expiry and eviction are O(1) per dropped entry.
 */
export class SessionTable<S extends { activeAt: Nanos }> {
  private readonly sessions = new Map<bigint, S>();
  private readonly maxSessions: number;
  private readonly maxIdleNs: bigint;
  /** Sessions dropped because the table was full. */
  evicted = 0;

  constructor(options: SessionTableOptions = {}) {
    this.maxSessions = options.maxSessions ?? 65_536;
    this.maxIdleNs = BigInt(options.maxIdleNs ?? DEFAULT_MAX_IDLE_NS);
    if (!(this.maxSessions >= 1)) throw new RangeError(`maxSessions must be >= 1, got ${this.maxSessions}`);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session, unless it has been idle too long at `now` (then it is forgotten). */
  get(id: bigint, now: Nanos): S | undefined {
    const session = this.sessions.get(id);
    if (session === undefined || now - session.activeAt <= this.maxIdleNs) return session;
    this.sessions.delete(id);
    return undefined;
  }

  /** Adds a session, first forgetting idle ones and, when full, the one idle longest. */
  add(id: bigint, session: S, now: Nanos): void {
    this.expire(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as bigint;
      this.sessions.delete(oldest);
      this.evicted++;
    }
    session.activeAt = now;
    this.sessions.set(id, session);
  }

  /** Marks a session active at `now` (a fresh leg): it moves to the back of the line. */
  touch(id: bigint, session: S, now: Nanos): void {
    this.sessions.delete(id);
    session.activeAt = now;
    this.sessions.set(id, session);
  }

  /** Forgets sessions idle for more than maxIdle before `now`. */
  expire(now: Nanos): void {
    for (const [id, s] of this.sessions) {
      if (now - s.activeAt <= this.maxIdleNs) break;
      this.sessions.delete(id);
    }
  }
}
