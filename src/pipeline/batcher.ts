/**
 * The batching policy, as a pure decision: given what is queued, whether the socket has more
 * datagrams waiting, whether the flush timer has run out, how many worker slots are free and
 * whether the pipeline is draining, say how many requests leave now. A batch leaves when it is
 * full (`maxBatch`), when the socket is drained (every datagram that had arrived has been read:
 * as Go's Roughtime server signs what it has read, with no timer, so a large maxBatch never
 * costs latency or throughput at low concurrency), when its oldest request has waited `flushMs`
 * (a bound, should the socket never drain), or at once while draining; never while every worker
 * slot is busy (requests then wait in the bounded queue, which is where overload is shed).
 *
 * A partial batch (timer run out, or flushMs 0) leaves only for an idle worker when the caller
 * says how many there are: a worker already running a batch would only start it after that one,
 * so holding it until the worker frees up costs one hop of latency and lets the batch fill (one
 * signature and one thread hop for more requests; measured under load: see BENCHMARKS.md).
 */
export interface BatchPolicy {
  /** Most requests in one batch (one Merkle tree, one signature). */
  readonly maxBatch: number;
  /** Longest a request waits for its batch to fill, in milliseconds; 0 = leave as soon as a worker is free. */
  readonly flushMs: number;
  /** Cut a partial batch when the socket is drained (default true; false waits for maxBatch or flushMs). */
  readonly cutOnDrain?: boolean;
}

export interface BatcherState {
  readonly queued: number;
  readonly freeSlots: number;
  /** The flush timer armed when the oldest queued request arrived has run out. */
  readonly timerExpired: boolean;
  /** The socket had no more datagrams waiting after the last one queued (default false). */
  readonly socketDrained?: boolean;
  readonly draining: boolean;
  /** Workers running nothing; when given, a partial batch waits for one (see above). */
  readonly idleWorkers?: number;
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
  if (!Number.isInteger(policy.maxBatch) || policy.maxBatch < 1 || policy.maxBatch > 65536)
    throw new RangeError(`maxBatch must be an integer from 1 to 65536, got ${policy.maxBatch}`);
  if (!Number.isFinite(policy.flushMs) || policy.flushMs < 0)
    throw new RangeError(`flushMs must be a non-negative number, got ${policy.flushMs}`);
  return policy;
}

const IDLE: BatchDecision = { kind: 'idle' };
const WAIT: BatchDecision = { kind: 'wait' };

/** What the batcher does next. */
export function decideBatch(policy: BatchPolicy, state: BatcherState): BatchDecision {
  if (state.queued === 0 || state.freeSlots === 0) return IDLE;
  if (state.queued >= policy.maxBatch || state.draining)
    return { kind: 'flush', take: Math.min(state.queued, policy.maxBatch) };
  const drained = state.socketDrained === true && policy.cutOnDrain !== false;
  if (state.timerExpired || drained || policy.flushMs === 0) {
    // A worker freeing up calls again.
    if (state.idleWorkers !== undefined && state.idleWorkers === 0) return IDLE;
    return { kind: 'flush', take: state.queued };
  }
  return WAIT;
}
