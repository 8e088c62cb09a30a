/**
 * The one table of saturn's errors. Every error the program raises on purpose is a SaturnError
 * with a stable `code`; drop counters and logs use the same codes (lower-cased, without prefix)
 * as their `reason`, so a metric, a log line and a test all name a failure the same way.
 *
 * The rule, everywhere in src/:
 * - Cores (codecs, protocol state machines, estimators, the Roughtime responder) RETURN their
 *   verdict: a drop with its code, an outcome with `ok: false`. A packet never throws, so a hot
 *   path costs no exception per bad datagram.
 * - Parsers of what a user or a file gives (options, key files, server lists, state files) THROW
 *   a SaturnError: ConfigError for configuration, SATURN_ERR_STATE for a state dir saturn cannot
 *   use. `main` turns either into one sentence on stderr and exit code 2.
 * - Programming errors (a bad argument from our own code) throw RangeError naming the value.
 */

export const ErrorCodes = {
  // configuration (exit code 2)
  SATURN_ERR_CONFIG: 'bad configuration',
  SATURN_ERR_STATE: 'the state directory holds something saturn cannot use',
  // the state directory at run time (kept in memory and retried, never a crash)
  SATURN_ERR_STATE_WRITE: 'a write to the state directory failed',
  // wire: datagrams that are dropped and counted, never answered
  SATURN_ERR_SHORT_PACKET: 'datagram too short',
  SATURN_ERR_LONG_PACKET: 'datagram longer than any saturn datagram',
  SATURN_ERR_BAD_VERSION: 'unknown envelope version',
  SATURN_ERR_UNKNOWN_KEY: 'sealed with a key id this node does not hold (a wrong or retired key)',
  SATURN_ERR_BAD_MAC: 'message authentication failed (a wrong key, or tampered)',
  SATURN_ERR_DECODE: 'message does not decode',
  SATURN_ERR_UNKNOWN_SESSION: 'no live session for this leg',
  SATURN_ERR_STALE_LEG: 'leg does not match the live session (replayed, forged or late)',
  SATURN_ERR_BAD_ECHO: 'echoed nonce does not match',
  SATURN_ERR_DUPLICATE: 'duplicate datagram',
  SATURN_ERR_REPLAY: 'a check opening seen before, or a copy of a leg from another address (replayed)',
  SATURN_ERR_RATE_LIMITED: 'this source opens checks faster than its limit',
  SATURN_ERR_FLEET_FULL: 'a new node, and the fleet already holds --max-nodes nodes',
  SATURN_ERR_NAME_TAKEN: "a slave checks in under the master's own --name, or a name with an '@'",
  SATURN_ERR_REPLY_TOO_LARGE: 'the reply would be larger than its request (no amplification)',
  // peer results a slave reports about the peers it checked (the mesh)
  SATURN_ERR_PEER_ABSURD: 'a peer result carries an impossible value',
  SATURN_ERR_PEER_UNKNOWN: 'a peer result names an unknown node or the reporter itself',
  SATURN_ERR_PEER_STALE: 'a peer result is older than its freshness window',
  // estimation
  SATURN_ERR_NO_SAMPLES: 'no usable samples',
  SATURN_ERR_INCONSISTENT: 'sample intervals do not intersect (clock step or wrong timestamp)',
  SATURN_ERR_CLOCK_STEP: 'a clock stepped during the check',
  SATURN_ERR_STALLED: 'a leg waited implausibly long inside the master or the slave (pause or stall)',
  // roughtime
  SATURN_ERR_RT_MALFORMED: 'malformed roughtime message',
  SATURN_ERR_RT_INVALID: 'roughtime response does not verify',
  SATURN_ERR_RT_TIMEOUT: 'roughtime server did not answer',
  SATURN_ERR_RT_SHORT: 'roughtime request shorter than 1024 bytes',
  SATURN_ERR_RT_LONG: 'roughtime request longer than the largest one answered (1472 bytes)',
  SATURN_ERR_RT_VERSION: 'no roughtime version in common',
  SATURN_ERR_RT_WRONG_SRV: 'roughtime request names another server key',
  SATURN_ERR_RT_INCONSISTENT: 'roughtime servers contradict each other',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An expected failure with a stable code; `message` is one sentence for a human. */
export class SaturnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string = ErrorCodes[code], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SaturnError';
    this.code = code;
  }
}

/** Configuration error: the CLI prints the message as one sentence and exits with code 2. */
export class ConfigError extends SaturnError {
  constructor(message: string) {
    super('SATURN_ERR_CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** The reason label a counter uses for a code: SATURN_ERR_BAD_MAC -> bad_mac. */
export function reasonOf(code: ErrorCode): string {
  return code.slice('SATURN_ERR_'.length).toLowerCase();
}
