/**
 * The worker thread entry: loads the batch handler module named in workerData, then answers
 * batches one message each way. The result buffer is transferred back, never copied. A handler
 * that throws fails only its batch (the pipeline counts it), never the worker.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { BatchOutput, unpackBatch } from './batch-codec.js';
import type { BatchHandler, BatchHandlerFactory } from './batch-handler.js';
import type { ToMain, ToWorker } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('pipeline worker started outside a worker thread');
const { handlerModule, init } = workerData as { handlerModule: string; init: unknown };
const factory = ((await import(handlerModule)) as { createBatchHandler: BatchHandlerFactory }).createBatchHandler;
const handler: BatchHandler = await factory(init);

port.on('message', (message: ToWorker) => {
  if (message.kind === 'control') {
    handler.control?.(message.payload);
    return;
  }
  const started = performance.now();
  let reply: ToMain;
  try {
    const datagrams = unpackBatch(message.input);
    const out = new BatchOutput(datagrams.map((d) => d.byteLength));
    handler.handle(datagrams, message.meta, out);
    const output = out.finish();
    reply = { kind: 'done', id: message.id, output, computeNs: Math.round((performance.now() - started) * 1e6) };
    port.postMessage(reply, [output]);
  } catch (error) {
    reply = { kind: 'failed', id: message.id, error: String((error as Error)?.stack ?? error) };
    port.postMessage(reply);
  }
});
port.postMessage({ kind: 'ready' } satisfies ToMain);
