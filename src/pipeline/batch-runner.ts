/**
 * Runs one packed batch through a handler: what a worker thread does for every batch, and what
 * the inline executor (workers: 0) does on the main thread. One implementation for both, so a
 * handler behaves the same wherever it runs.
 */
import { performance } from 'node:perf_hooks';
import { BatchOutput, unpackBatch } from './batch-codec.js';
import type { BatchHandler } from './batch-handler.js';

/** A batch's packed result and how long the handler spent on it. */
export interface BatchDone {
  /** The result (see BatchOutput): its own buffer, or a view into a shared region. */
  readonly output: Uint8Array;
  /** Time the handler spent on the batch, measured where it ran. */
  readonly computeNs: number;
}

/**
 * Unpacks `input`, lets `handler` write one outcome per datagram, and returns the packed result
 * (in `target`, a shared region, when given); throws what the handler throws.
 */
export function runBatch(
  handler: BatchHandler,
  input: ArrayBuffer | Uint8Array,
  meta: unknown,
  target?: Uint8Array,
): BatchDone {
  const started = performance.now();
  const datagrams = unpackBatch(input);
  const out = new BatchOutput(
    datagrams.map((d) => d.byteLength),
    target,
  );
  handler.handle(datagrams, meta, out);
  const output = out.finish();
  return { output, computeNs: Math.round((performance.now() - started) * 1e6) };
}
