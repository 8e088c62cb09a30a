/**
 * The contract between the pipeline and the expensive work it runs in workers. A handler module
 * exports `createBatchHandler(init)`; the pipeline imports it in each worker thread (or on the
 * main thread when `workers` is 0), hands it batches of datagrams and collects one outcome per
 * datagram. Handlers are pure with respect to I/O: no sockets, no clock (time arrives in `meta`).
 */
import type { BatchOutput } from './batch-codec.js';

export interface BatchHandler {
  /** Writes one outcome per datagram, in order, into `out`. Must not throw for bad datagrams. */
  handle(datagrams: readonly Uint8Array[], meta: unknown, out: BatchOutput): void;
  /** A control message broadcast to every worker (e.g. a new signing key); applied before any later batch. */
  control?(message: unknown): void;
}

/** What a handler module exports. `init` is structured-cloned into each worker. */
export type BatchHandlerFactory = (init: unknown) => BatchHandler | Promise<BatchHandler>;
