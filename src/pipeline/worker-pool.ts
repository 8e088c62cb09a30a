/**
 * Runs batches on a pool of worker_threads (or inline on the calling thread when `workers` is
 * 0, for tests and single-core machines). Each worker holds at most `perWorker` batches, so the
 * next batch is already waiting when one finishes while nothing piles up inside the pool: the
 * pipeline's bounded queue is the only place requests wait. Batches go to the least busy worker.
 */
import { Worker } from 'node:worker_threads';
import type { BatchHandler, BatchHandlerFactory } from './batch-handler.js';
import { type BatchDone, runBatch } from './batch-runner.js';
import { packBatch, packInto, packedSize } from './batch-codec.js';
import type { ToMain, ToWorker, WorkerStart } from './worker-protocol.js';

export type { BatchDone };

export interface WorkerPoolOptions {
  /** Module exporting `createBatchHandler` (a file URL or absolute path of compiled JS). */
  readonly handlerModule: URL | string;
  readonly init: unknown;
  /** Worker threads; 0 runs the handler on the calling thread. */
  readonly workers: number;
  /** Batches a worker holds at once (default 2: one running, one ready). */
  readonly perWorker?: number;
  /**
   * Whether a batch's shared result region may be written again once its callback has returned
   * (default: always). The pipeline says no while the socket still queues sends: a queued send
   * reads its bytes from the region later; the region is then lent until this says yes.
   */
  readonly resultsReusable?: () => boolean;
}

/** A pool that runs batches and calls back with each result. */
export interface BatchExecutor {
  /** Batches that can be accepted right now. */
  freeSlots(): number;
  /** Runs a batch of datagrams; `done` gets the result, or an Error when the handler failed. */
  submit(datagrams: readonly Uint8Array[], meta: unknown, done: (result: BatchDone | Error) => void): void;
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
  const slots = await Promise.all(Array.from({ length: options.workers }, () => startOne(options, perWorker)));
  return new ThreadPool(slots, perWorker, options.resultsReusable ?? (() => true));
}

/**
 * Bytes of one region of a worker's shared arenas: a batch that fits (256 Roughtime requests of
 * the largest size do) is copied into the input arena and announced by a small message, and its
 * result comes back in the same region of the result arena; a larger one is transferred both
 * ways. Measured here (both threads' CPU): transferring a fresh 30 KB ArrayBuffer costs ~20-35 µs
 * a batch, copying it into a shared region and posting its index ~5 µs.
 */
const REGION_BYTES = 512 * 1024;

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, (result: BatchDone | Error) => void>;
  /** The worker's shared arenas: `perWorker` regions each, one per batch it may hold. */
  readonly arena: Uint8Array;
  readonly results: Uint8Array;
  /** Regions holding no batch, and regions whose result the socket may still be reading. */
  readonly freeRegions: number[];
  readonly lentRegions: number[];
}

function startOne(options: WorkerPoolOptions, perWorker: number): Promise<Slot> {
  const arena = new SharedArrayBuffer(perWorker * REGION_BYTES);
  const results = new SharedArrayBuffer(perWorker * REGION_BYTES);
  const worker = new Worker(WORKER_URL, {
    workerData: {
      handlerModule: moduleUrl(options.handlerModule),
      init: options.init,
      arena,
      results,
      regionBytes: REGION_BYTES,
    } satisfies WorkerStart,
  });
  const slot: Slot = {
    worker,
    pending: new Map(),
    arena: new Uint8Array(arena),
    results: new Uint8Array(results),
    freeRegions: Array.from({ length: perWorker }, (_, i) => i),
    lentRegions: [],
  };
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
      if (message.kind === 'failed') return done(new Error(message.error));
      const output =
        'output' in message
          ? new Uint8Array(message.output)
          : slot.results.subarray(message.region * REGION_BYTES, message.region * REGION_BYTES + message.length);
      done({ output, computeNs: message.computeNs });
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
    private readonly resultsReusable: () => boolean,
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

  submit(datagrams: readonly Uint8Array[], meta: unknown, done: (result: BatchDone | Error) => void): void {
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.pending.size < best.pending.size) best = slot;
    const id = this.nextId++;
    if (best.lentRegions.length > 0 && this.resultsReusable()) best.freeRegions.push(...best.lentRegions.splice(0));
    const region = packedSize(datagrams) <= REGION_BYTES ? best.freeRegions.pop() : undefined;
    if (region === undefined) {
      best.pending.set(id, done);
      const input = packBatch(datagrams);
      best.worker.postMessage({ kind: 'batch', id, input, meta } satisfies ToWorker, [input]);
      return;
    }
    // The region is the worker's until its result comes back (it has read every datagram), then
    // the caller's while it reads the result, then free, or lent while queued sends may read it.
    best.pending.set(id, (result) => {
      done(result);
      (this.resultsReusable() ? best.freeRegions : best.lentRegions).push(region);
    });
    const at = region * REGION_BYTES;
    const length = packInto(best.arena.subarray(at, at + REGION_BYTES), datagrams);
    best.worker.postMessage({ kind: 'batch', id, region, length, meta } satisfies ToWorker);
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
    submit(datagrams, meta, done) {
      running++;
      const input = packBatch(datagrams);
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
