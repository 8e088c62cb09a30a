/**
 * Runs batches on a pool of worker_threads (or inline on the calling thread when `workers` is
 * 0, for tests and single-core machines). Each worker holds at most `perWorker` batches, so the
 * next batch is already waiting when one finishes while nothing piles up inside the pool: the
 * pipeline's bounded queue is the only place requests wait. Batches go to the least busy worker.
 */
import { Worker } from 'node:worker_threads';
import type { BatchHandler, BatchHandlerFactory } from './batch-handler.js';
import { type BatchDone, runBatch } from './batch-runner.js';
import type { ToMain, ToWorker } from './worker-protocol.js';

export type { BatchDone };

export interface WorkerPoolOptions {
  /** Module exporting `createBatchHandler` (a file URL or absolute path of compiled JS). */
  readonly handlerModule: URL | string;
  readonly init: unknown;
  /** Worker threads; 0 runs the handler on the calling thread. */
  readonly workers: number;
  /** Batches a worker holds at once (default 2: one running, one ready). */
  readonly perWorker?: number;
}

/** A pool that runs batches and calls back with each result. */
export interface BatchExecutor {
  /** Batches that can be accepted right now. */
  freeSlots(): number;
  /** Runs a packed batch; `done` gets the result, or an Error when the handler failed. */
  submit(input: ArrayBuffer, meta: unknown, done: (result: BatchDone | Error) => void): void;
  /** Sends a control message to every handler; it takes effect before any batch submitted later. */
  broadcast(payload: unknown): void;
  /** Workers running nothing (inline: 1 when no batch is out). */
  idleWorkers(): number;
  /** Batches still out. */
  inFlight(): number;
  /** Stops the workers (after the batches already submitted have come back). */
  close(): Promise<void>;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

function moduleUrl(module: URL | string): string {
  return module instanceof URL ? module.href : module.startsWith('file:') ? module : new URL(`file://${module}`).href;
}

/** Starts the pool; resolves once every worker has loaded its handler. */
export async function startWorkerPool(options: WorkerPoolOptions): Promise<BatchExecutor> {
  if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > 64)
    throw new RangeError(`workers must be an integer from 0 to 64, got ${options.workers}`);
  const perWorker = options.perWorker ?? 2;
  if (options.workers === 0) return startInline(options, perWorker);
  const slots = await Promise.all(Array.from({ length: options.workers }, () => startOne(options)));
  return new ThreadPool(slots, perWorker);
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, (result: BatchDone | Error) => void>;
}

function startOne(options: WorkerPoolOptions): Promise<Slot> {
  const worker = new Worker(WORKER_URL, {
    workerData: { handlerModule: moduleUrl(options.handlerModule), init: options.init },
  });
  const slot: Slot = { worker, pending: new Map() };
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    worker.once('error', onError);
    worker.on('message', (message: ToMain) => {
      if (message.kind === 'ready') {
        worker.off('error', onError);
        // A worker that dies fails its outstanding batches instead of hanging the pipeline.
        worker.on('error', (error) => failAll(slot, error));
        worker.on('exit', (code) => failAll(slot, new Error(`pipeline worker exited with code ${code}`)));
        resolve(slot);
        return;
      }
      const done = slot.pending.get(message.id);
      if (done === undefined) return;
      slot.pending.delete(message.id);
      done(
        message.kind === 'done' ? { output: message.output, computeNs: message.computeNs } : new Error(message.error),
      );
    });
  });
}

function failAll(slot: Slot, error: Error): void {
  const callbacks = [...slot.pending.values()];
  slot.pending.clear();
  for (const done of callbacks) done(error);
}

class ThreadPool implements BatchExecutor {
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly slots: readonly Slot[],
    private readonly perWorker: number,
  ) {}

  freeSlots(): number {
    if (this.closed) return 0;
    let free = 0;
    for (const slot of this.slots) free += Math.max(0, this.perWorker - slot.pending.size);
    return free;
  }

  idleWorkers(): number {
    if (this.closed) return 0;
    let idle = 0;
    for (const slot of this.slots) if (slot.pending.size === 0) idle++;
    return idle;
  }

  inFlight(): number {
    let count = 0;
    for (const slot of this.slots) count += slot.pending.size;
    return count;
  }

  submit(input: ArrayBuffer, meta: unknown, done: (result: BatchDone | Error) => void): void {
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.pending.size < best.pending.size) best = slot;
    const id = this.nextId++;
    best.pending.set(id, done);
    best.worker.postMessage({ kind: 'batch', id, input, meta } satisfies ToWorker, [input]);
  }

  broadcast(payload: unknown): void {
    for (const slot of this.slots) slot.worker.postMessage({ kind: 'control', payload } satisfies ToWorker);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map((slot) =>
        slot.pending.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const wait = (): void => {
                if (slot.pending.size === 0) resolve();
                else setImmediate(wait);
              };
              wait();
            }),
      ),
    );
    await Promise.all(
      this.slots.map((slot) => {
        slot.worker.removeAllListeners('exit');
        return slot.worker.terminate();
      }),
    );
  }
}

async function startInline(options: WorkerPoolOptions, perWorker: number): Promise<BatchExecutor> {
  const factory = ((await import(moduleUrl(options.handlerModule))) as { createBatchHandler: BatchHandlerFactory })
    .createBatchHandler;
  const handler: BatchHandler = await factory(structuredClone(options.init));
  let running = 0;
  let closed = false;
  return {
    freeSlots: () => (closed ? 0 : Math.max(0, perWorker - running)),
    idleWorkers: () => (closed || running > 0 ? 0 : 1),
    inFlight: () => running,
    submit(input, meta, done) {
      running++;
      // Run on a later turn, as a worker would, so the receive path is never blocked mid-handler.
      setImmediate(() => {
        let result: BatchDone | Error;
        try {
          result = runBatch(handler, input, meta);
        } catch (error) {
          result = error instanceof Error ? error : new Error(String(error));
        }
        running--;
        done(result);
      });
    },
    broadcast: (payload) => handler.control?.(payload),
    async close() {
      closed = true;
      while (running > 0) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
