/** Retransmission backoff for a silent Roughtime server: 1 s × 1.5^(n-1), capped at 24 h. */

export interface BackoffOptions {
  /** Wait for the first attempt, in milliseconds. Default 1000. */
  readonly initialMs?: number;
  /** Growth per attempt. Default 1.5. */
  readonly factor?: number;
  /** Cap, in milliseconds. Default 24 h. */
  readonly maxMs?: number;
}

/** How long to wait for an answer to attempt `attempt` (1-based) before trying again. */
export function retryDelayMs(attempt: number, options: BackoffOptions = {}): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const { initialMs = 1000, factor = 1.5, maxMs = 24 * 60 * 60 * 1000 } = options;
  return Math.min(maxMs, initialMs * factor ** (attempt - 1));
}
