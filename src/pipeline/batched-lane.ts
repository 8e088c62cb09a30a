/**
 * The batched lane: expensive work (Roughtime signatures) in batches on worker threads.
 *
 *   bounded queue (drops the OLDEST when full, counted)
 *     → batcher (flush when the socket is drained, at maxBatch or after flushMs; the decision is batcher.ts)
 *     → worker pool (one transferred buffer per batch each way)
 *     → the socket's sender
 *
 * Nothing accepted into the queue is lost by drain(): it flushes what is queued and waits for
 * every batch out in the workers.
 */
import type { Clock, Instant, Timer } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { readResults } from './batch-codec.js';
import { type BatchPolicy, checkBatchPolicy, decideBatch } from './batcher.js';
import { DropCounts } from './drop-counts.js';
import { DropOldestQueue } from './queue.js';
import { DurationHistogram } from './stats.js';
import type { Peer, UdpSocket } from './udp-socket.js';
import { type BatchDone, type BatchExecutor, startWorkerPool } from './worker-pool.js';

/** What `prepare` learns about a batch as it leaves for a worker. */
export interface BatchDispatch {
  /** When the batch leaves. */
  readonly dispatchedAt: Instant;
  /** When its oldest request was received. */
  readonly oldestReceivedAt: Instant;
  readonly count: number;
}

/** The defaults of BatchedLaneOptions: requests per batch, the flush wait (ms), worker threads, queued requests. */
export const DEFAULT_MAX_BATCH = 64;
export const DEFAULT_FLUSH_MS = 1;
export const DEFAULT_WORKERS = 1;
export const DEFAULT_QUEUE_CAPACITY = 8192;

export interface BatchedLaneOptions {
  /** Most requests per batch (default 64). */
  readonly maxBatch?: number;
  /** Longest a request waits for its batch to fill, ms (default 1; 0 = go as soon as a worker is free). */
  readonly flushMs?: number;
  /** Cut a partial batch as soon as the socket is drained (default true; see batcher.ts). */
  readonly cutOnDrain?: boolean;
  /** Worker threads (default 1; 0 = run the handler on the main thread). */
  readonly workers?: number;
  /** Requests the queue holds before it drops the oldest (default 8192). */
  readonly queueCapacity?: number;
  /** Bytes of requests the queue holds before it drops the oldest (default 8 MiB). */
  readonly queueBytes?: number;
  /**
   * Judges a datagram at the socket, before it is queued: a drop code refuses it there (counted
   * by reason), undefined lets it in. Must be cheap (it runs on the receive path): a size check.
   */
  screen?(datagram: Buffer): ErrorCode | undefined;
  /** Compiled JS module exporting createBatchHandler. */
  readonly handlerModule: URL | string;
  /** Passed to createBatchHandler in each worker (structured clone). */
  readonly handlerInit: unknown;
  /** Per-batch metadata for the handler, computed on the main thread at dispatch (e.g. the time to sign). */
  prepare?(dispatch: BatchDispatch): unknown;
  /** Told about each batch a handler failed on (its requests get no reply). */
  readonly onBatchError?: (error: Error, count: number) => void;
}

/** What a job (BatchedLane.run) made of one input: its output, or the code it was dropped with. */
export type JobOutcome = { readonly output: Uint8Array } | { readonly dropped: ErrorCode };

/** The batched lane's stage timings, in nanoseconds. */
export interface BatchedTimings {
  /** Receipt to enqueued, sampled. */
  readonly receive: DurationHistogram;
  /** Per request: receipt to leaving for a worker. */
  readonly queueWait: DurationHistogram;
  /** Per batch: its oldest request's receipt to dispatch (how long it took to fill). */
  readonly batch: DurationHistogram;
  /** Per batch: handler time in the worker. */
  readonly compute: DurationHistogram;
  /** Per batch: result back on the main thread to last reply handed to the socket. */
  readonly send: DurationHistogram;
  /** Per request: receipt to its reply handed to the socket. */
  readonly total: DurationHistogram;
}

interface Queued {
  readonly datagram: Buffer;
  readonly from: Peer;
  readonly receivedAt: Instant;
}

const RECEIVE_SAMPLE_EVERY = 64;
/** The queue's default byte bound: 8 MiB, some 8,000 Roughtime requests. */
export const DEFAULT_QUEUE_BYTES = 8 << 20;

export class BatchedLane {
  readonly timings: BatchedTimings = {
    receive: new DurationHistogram(),
    queueWait: new DurationHistogram(),
    batch: new DurationHistogram(),
    compute: new DurationHistogram(),
    send: new DurationHistogram(),
    total: new DurationHistogram(),
  };
  /** Requests the handler declined, by reason. */
  readonly dropped = new DropCounts();
  answered = 0;
  /** Requests lost to a failed batch (a handler bug or a dead worker). */
  failed = 0;
  batches = 0;
  private batchedRequests = 0;
  /** Jobs (run()) out in the pool. */
  private jobs = 0;
  private pushed = 0;
  private readonly queue: DropOldestQueue<Queued>;
  private timer: Timer | undefined;
  private timerExpired = false;
  /** No datagram has arrived since the socket last had none waiting. */
  private drainedSocket = false;
  private draining = false;
  private drained: (() => void) | undefined;

  private constructor(
    private readonly options: BatchedLaneOptions,
    private readonly policy: BatchPolicy,
    private readonly executor: BatchExecutor,
    private readonly clock: Clock,
    private readonly socket: () => UdpSocket,
  ) {
    this.queue = new DropOldestQueue<Queued>(
      options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
      options.queueBytes ?? DEFAULT_QUEUE_BYTES,
      (item) => item.datagram.byteLength,
    );
  }

  /** Starts the workers; `socket` is the sender replies go to (bound after the lane exists). */
  static async start(options: BatchedLaneOptions, clock: Clock, socket: () => UdpSocket): Promise<BatchedLane> {
    const policy = checkBatchPolicy({
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      flushMs: options.flushMs ?? DEFAULT_FLUSH_MS,
      cutOnDrain: options.cutOnDrain ?? true,
    });
    const executor = await startWorkerPool({
      handlerModule: options.handlerModule,
      init: options.handlerInit,
      workers: options.workers ?? DEFAULT_WORKERS,
      // Replies are sent straight from the shared result region; a send the socket queues reads
      // it later, so the region is not written again until the send queue is empty.
      resultsReusable: () => socket().sendQueueCount() === 0,
    });
    return new BatchedLane(options, policy, executor, clock, socket);
  }

  /** Requests waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Bytes of the requests waiting in the queue. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Requests pushed out of the full queue, unanswered. */
  get shed(): number {
    return this.queue.dropped;
  }

  get meanBatch(): number {
    return this.batches === 0 ? 0 : Math.round((this.batchedRequests / this.batches) * 10) / 10;
  }

  broadcast(message: unknown): void {
    this.executor.broadcast(message);
  }

  /**
   * The socket has no more datagrams waiting: what is queued is all there is for now, so a
   * partial batch leaves (for an idle worker) instead of waiting out the flush timer.
   */
  socketDrained(): void {
    this.drainedSocket = true;
    this.pump();
  }

  /** Takes one request into the queue (dropping the oldest if full), unless the screen refuses it. */
  push(datagram: Buffer, from: Peer, receivedAt: Instant): void {
    this.drainedSocket = false;
    const refused = this.options.screen?.(datagram);
    if (refused !== undefined) {
      this.dropped.add(refused);
      return;
    }
    this.queue.push({ datagram, from, receivedAt });
    this.pump();
    if (++this.pushed % RECEIVE_SAMPLE_EVERY === 0) {
      this.timings.receive.record(Number(this.clock.monotonic() - receivedAt.mono));
    }
  }

  /**
   * Runs a job on the worker pool outside the request path: `inputs` go to the handler as one
   * batch (with `meta`), and its outcomes come back here instead of to the socket (a client
   * verifying answers off the main thread). Jobs do not queue behind requests; the pool takes
   * them at once. Resolves with one outcome per input, or rejects when the handler failed.
   */
  run(inputs: readonly Uint8Array[], meta: unknown): Promise<JobOutcome[]> {
    return new Promise((resolve, reject) => {
      this.jobs++;
      this.executor.submit(inputs, meta, (result) => {
        this.jobs--;
        this.pump();
        if (result instanceof Error) return reject(result);
        const outcomes: JobOutcome[] = [];
        readResults(result.output, (_, output, code) =>
          outcomes.push(output !== undefined ? { output: new Uint8Array(output) } : { dropped: code! }),
        );
        resolve(outcomes);
      });
    });
  }

  /** Flushes everything queued, waits for every batch out, and stops the workers. */
  async drain(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.drained = resolve;
      this.draining = true;
      this.pump();
    });
    this.timer?.cancel();
    await this.executor.close();
  }

  private pump(): void {
    const { executor, policy, queue } = this;
    for (;;) {
      const decision = decideBatch(policy, {
        queued: queue.length,
        freeSlots: executor.freeSlots(),
        timerExpired: this.timerExpired,
        socketDrained: this.drainedSocket,
        draining: this.draining,
        idleWorkers: executor.idleWorkers(),
      });
      if (decision.kind === 'idle') break;
      if (decision.kind === 'wait') {
        this.timer ??= this.clock.setTimer(policy.flushMs * 1e6, () => {
          this.timer = undefined;
          this.timerExpired = true;
          this.pump();
        });
        break;
      }
      this.dispatch(queue.take(decision.take));
      this.timerExpired = false;
      this.timer?.cancel();
      this.timer = undefined;
    }
    if (this.draining && queue.length === 0 && executor.inFlight() === 0 && this.jobs === 0) this.drained?.();
  }

  private dispatch(items: Queued[]): void {
    const dispatchedAt = this.clock.read();
    const oldestReceivedAt = items[0]!.receivedAt;
    this.timings.batch.record(Number(dispatchedAt.mono - oldestReceivedAt.mono));
    for (const item of items) this.timings.queueWait.record(Number(dispatchedAt.mono - item.receivedAt.mono));
    const meta = this.options.prepare?.({ dispatchedAt, oldestReceivedAt, count: items.length });
    this.batches++;
    this.batchedRequests += items.length;
    this.executor.submit(
      items.map((item) => item.datagram),
      meta,
      (result) => this.onResult(items, result),
    );
  }

  private onResult(items: Queued[], result: BatchDone | Error): void {
    // The worker may be idle now: give it the next batch before sending these replies, so it
    // computes while this thread sends.
    this.pump();
    if (result instanceof Error) {
      this.failed += items.length;
      this.options.onBatchError?.(result, items.length);
    } else {
      this.timings.compute.record(result.computeNs);
      const socket = this.socket();
      const sendStart = this.clock.monotonic();
      readResults(result.output, (i, reply, code) => {
        if (reply !== undefined) {
          const item = items[i]!;
          if (socket.send(reply, item.from.port, item.from.address)) this.answered++;
        } else if (code !== undefined) {
          this.dropped.add(code);
        }
      });
      const sendEnd = this.clock.monotonic();
      this.timings.send.record(Number(sendEnd - sendStart));
      for (const item of items) this.timings.total.record(Number(sendEnd - item.receivedAt.mono));
    }
    this.pump();
  }
}
