/**
 * The responder production runs, for tests: the worker's batch handler (server-worker.ts) run
 * through the pipeline's own batch runner, as a worker thread runs it, with its outcomes read
 * back as values.
 */
import type { ErrorCode } from '../../src/errors.js';
import { packBatch, readResults } from '../../src/pipeline/batch-codec.js';
import { runBatch } from '../../src/pipeline/batch-runner.js';
import { serverId, type SigningKey } from '../../src/roughtime/crypto.js';
import { createDelegation, type Delegation } from '../../src/roughtime/delegation.js';
import type { BatchTime } from '../../src/roughtime/server-core.js';
import { createBatchHandler } from '../../src/roughtime/server-worker.js';
import { ALL_IETF_VERSIONS, type WireVersion } from '../../src/roughtime/versions.js';

/** What became of one request: its reply, or the code it was dropped with. */
export type Outcome = { readonly response: Uint8Array } | { readonly dropped: ErrorCode };

export interface LocalResponder {
  readonly delegation: Delegation;
  /** Answers one batch at `time`: one outcome per packet, in order. */
  respond(packets: readonly Uint8Array[], time: BatchTime): Outcome[];
}

export interface LocalResponderOptions {
  readonly longTermKey: SigningKey;
  readonly onlineSeed: Uint8Array;
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
  /** Default: every IETF version and Google's. */
  readonly versions?: readonly WireVersion[];
  /** Default: the long-term key's SRV. */
  readonly serverIds?: readonly Uint8Array[];
}

export function localResponder(options: LocalResponderOptions): LocalResponder {
  const delegation = createDelegation(options);
  const handler = createBatchHandler({
    policy: {
      versions: [...(options.versions ?? [...ALL_IETF_VERSIONS, 'google'])],
      serverIds: options.serverIds ?? [serverId(options.longTermKey.publicKey)],
    },
    delegation,
  });
  return {
    delegation,
    respond(packets, time) {
      const { output } = runBatch(handler, packBatch(packets), time);
      const outcomes: Outcome[] = [];
      readResults(output, (_, reply, code) =>
        outcomes.push(reply !== undefined ? { response: new Uint8Array(reply) } : { dropped: code! }),
      );
      return outcomes;
    },
  };
}

/** The reply of an outcome; throws (failing the test) if the request was dropped. */
export function replyOf(outcome: Outcome | undefined): Uint8Array {
  if (outcome === undefined || !('response' in outcome)) throw new Error(`no reply: ${JSON.stringify(outcome)}`);
  return outcome.response;
}
