/**
 * The one retry backoff of the program: initial × factor^(n-1), capped, with optional jitter.
 * Roughtime retransmissions use the defaults (1 s × 1.5^(n-1), capped at 24 h, no jitter, as the
 * Roughtime spec asks); webhook retries pass their own numbers and jitter so many saturn nodes
 * that lost the same receiver do not retry in lockstep.
 */

export interface BackoffOptions {
  /** Wait for the first attempt, in milliseconds. Default 1000. */
  readonly initialMs?: number;
  /** Growth per attempt. Default 1.5. */
  readonly factor?: number;
  /** Cap, in milliseconds. Default 24 h. */
  readonly maxMs?: number;
  /**
   * Fraction of the delay that is random, 0 to 1: the delay is d × (1 − jitter × r) with r uniform
   * in [0, 1). Default 0 (exact). 0.5 keeps at least half the delay ("equal jitter").
   */
  readonly jitter?: number;
  /** Source of r; default Math.random. Tests inject their own. */
  readonly random?: () => number;
}

/** How long to wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed or went unanswered. */
export function retryDelayMs(attempt: number, options: BackoffOptions = {}): number {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const { initialMs = 1000, factor = 1.5, maxMs = 24 * 60 * 60 * 1000, jitter = 0, random = Math.random } = options;
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be between 0 and 1, got ${jitter}`);
  const delay = Math.min(maxMs, initialMs * factor ** (attempt - 1));
  return jitter === 0 ? delay : delay * (1 - jitter * random());
}
