/**
 * The Roughtime server's batch handler for the pipeline: what runs in each worker thread. It
 * holds the online key (never the long-term key, which stays on the main thread) and answers
 * batches through BatchResponder; a control message installs the next delegation.
 */
import type { BatchOutput } from '../pipeline/batch-codec.js';
import type { BatchHandler } from '../pipeline/batch-handler.js';
import type { AcceptPolicy } from './request.js';
import type { Delegation } from './delegation.js';
import { BatchResponder, type BatchTime } from './server-core.js';

/** What each worker is started with. */
export interface RoughtimeWorkerInit {
  readonly policy: AcceptPolicy;
  readonly delegation: Delegation;
}

/** The control message that rotates the online key. */
export interface RotateMessage {
  readonly kind: 'delegation';
  readonly delegation: Delegation;
}

/** The pipeline's entry point (see src/pipeline/batch-handler.ts). */
export function createBatchHandler(init: unknown): BatchHandler {
  const { policy, delegation } = init as RoughtimeWorkerInit;
  const responder = new BatchResponder(policy, delegation);
  return {
    handle(datagrams: readonly Uint8Array[], meta: unknown, out: BatchOutput): void {
      responder.respond(datagrams, meta as BatchTime, out);
    },
    control(message: unknown): void {
      const rotate = message as RotateMessage;
      if (rotate.kind === 'delegation') responder.addDelegation(rotate.delegation);
    },
  };
}
