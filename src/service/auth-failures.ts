import type { ErrorCode } from '../errors.js';
import { reasonOf } from '../errors.js';
import type { Logger } from '../log/diagnostics.js';
import type { Peer } from '../pipeline/pipeline.js';
import { TokenBuckets } from '../util/rate-limit.js';
import { formatHostPort } from '../util/parse.js';

/** The drops that mean "sealed with a key this node does not hold" (or tampered with). */
const AUTH_FAILURES: ReadonlySet<ErrorCode> = new Set(['SATURN_ERR_BAD_MAC', 'SATURN_ERR_UNKNOWN_KEY']);

/**
 * A WARN line naming the source of datagrams that fail authentication, at most one per source
 * address a minute: a node with a wrong or retired key otherwise looks exactly like an outage.
 * The drops themselves are counted by reason elsewhere; this only says who.
 */
export class AuthFailureLog {
  private readonly perSource = new TokenBuckets<string>({ ratePerSecond: 1 / 60, burst: 1, maxKeys: 10_000 });

  constructor(private readonly logger: Logger) {}

  /** Notes one dropped datagram; logs when it is an authentication failure not logged for its source this minute. */
  note(code: ErrorCode, keyId: number | undefined, from: Peer, atMono: bigint): void {
    if (!AUTH_FAILURES.has(code) || !this.perSource.take(from.address, atMono)) return;
    this.logger.warn(
      {
        from: formatHostPort({ host: from.address, port: from.port }),
        reason: reasonOf(code),
        keyId,
        hint:
          code === 'SATURN_ERR_UNKNOWN_KEY'
            ? 'the sender seals with a key id this node does not hold (a key added there but not here, or removed here)'
            : 'the sender uses another key under this id, or the datagram was tampered with',
      },
      'datagram failed authentication (at most one line per source a minute)',
    );
  }
}
