/**
 * The worker thread entry: loads the batch handler module named in workerData, then answers
 * batches one message each way. The result buffer is transferred back, never copied. A handler
 * that throws fails only its batch (the pipeline counts it), never the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BatchHandler, BatchHandlerFactory } from './batch-handler.js';
import { runBatch } from './batch-runner.js';
import type { ToMain, ToWorker, WorkerStart } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('pipeline worker started outside a worker thread');
const { handlerModule, init, arena, results, regionBytes } = workerData as WorkerStart;
const factory = ((await import(handlerModule)) as { createBatchHandler: BatchHandlerFactory }).createBatchHandler;
const handler: BatchHandler = await factory(init);

port.on('message', (message: ToWorker) => {
  if (message.kind === 'control') {
    handler.control?.(message.payload);
    return;
  }
  try {
    if ('input' in message) {
      const { output, computeNs } = runBatch(handler, message.input, message.meta);
      const buffer = output.buffer as ArrayBuffer;
      port.postMessage({ kind: 'done', id: message.id, output: buffer, computeNs } satisfies ToMain, [buffer]);
    } else {
      const at = message.region * regionBytes;
      const input = new Uint8Array(arena, at, message.length);
      const target = new Uint8Array(results, at, regionBytes);
      const { output, computeNs } = runBatch(handler, input, message.meta, target);
      port.postMessage({
        kind: 'done',
        id: message.id,
        region: message.region,
        length: output.byteLength,
        computeNs,
      } satisfies ToMain);
    }
  } catch (error) {
    port.postMessage({
      kind: 'failed',
      id: message.id,
      error: String((error as Error)?.stack ?? error),
    } satisfies ToMain);
  }
});
port.postMessage({ kind: 'ready' } satisfies ToMain);
