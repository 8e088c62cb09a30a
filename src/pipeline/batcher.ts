/**
 * The batching policy, as a pure decision: given what is queued, whether the flush timer has
 * run out, how many worker slots are free and whether the pipeline is draining, say how many
 * requests leave now. A batch leaves when it is full (`maxBatch`), when its oldest request has
 * waited `flushMs`, or at once while draining; never while every worker slot is busy (requests
 * then wait in the bounded queue, which is where overload is shed).
 */
export interface BatchPolicy {
  /** Most requests in one batch (one Merkle tree, one signature). */
  readonly maxBatch: number;
  /** Longest a request waits for its batch to fill, in milliseconds; 0 = leave as soon as a worker is free. */
  readonly flushMs: number;
}

export interface BatcherState {
  readonly queued: number;
  readonly freeSlots: number;
  /** The flush timer armed when the oldest queued request arrived has run out. */
  readonly timerExpired: boolean;
  readonly draining: boolean;
}

export type BatchDecision =
  /** Send this many of the oldest requests to a worker now. */
  | { readonly kind: 'flush'; readonly take: number }
  /** A partial batch is waiting: make sure the flush timer is armed. */
  | { readonly kind: 'wait' }
  /** Nothing to do until a request arrives or a worker frees a slot. */
  | { readonly kind: 'idle' };

/** Validates a policy; RangeError naming the bad value. */
export function checkBatchPolicy(policy: BatchPolicy): BatchPolicy {
  if (!Number.isInteger(policy.maxBatch) || policy.maxBatch < 1 || policy.maxBatch > 65536) throw new RangeError(`maxBatch must be an integer from 1 to 65536, got ${policy.maxBatch}`);
  if (!Number.isFinite(policy.flushMs) || policy.flushMs < 0) throw new RangeError(`flushMs must be a non-negative number, got ${policy.flushMs}`);
  return policy;
}

/** What the batcher does next. */
export function decideBatch(policy: BatchPolicy, state: BatcherState): BatchDecision {
  if (state.queued === 0) return { kind: 'idle' };
  if (state.freeSlots === 0) return { kind: 'idle' };
  if (state.queued >= policy.maxBatch || state.draining || state.timerExpired || policy.flushMs === 0) {
    return { kind: 'flush', take: Math.min(state.queued, policy.maxBatch) };
  }
  return { kind: 'wait' };
}
