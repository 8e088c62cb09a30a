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
  readonly output: ArrayBuffer;
  /** Time the handler spent on the batch, measured where it ran. */
  readonly computeNs: number;
}

/** Unpacks `input`, lets `handler` write one outcome per datagram, and returns the packed result; throws what the handler throws. */
export function runBatch(handler: BatchHandler, input: ArrayBuffer, meta: unknown): BatchDone {
  const started = performance.now();
  const datagrams = unpackBatch(input);
  const out = new BatchOutput(datagrams.map((d) => d.byteLength));
  handler.handle(datagrams, meta, out);
  const output = out.finish();
  return { output, computeNs: Math.round((performance.now() - started) * 1e6) };
}
