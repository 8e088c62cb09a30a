/**
 * The pipeline: the one path every UDP service in saturn takes.
 *
 *   socket (timestamp at receipt)
 *     ├─ fast lane:    handler runs at once on the main thread, no queue, no batching; its reply
 *     │                is built with the instant of the send (saturn legs: nothing is added to
 *     │                the delays they measure, and they never wait behind signatures)
 *     └─ batched lane: bounded queue (drops the OLDEST when full, counted)
 *                        → batcher (flush at maxBatch or after flushMs; see batcher.ts)
 *                        → worker pool (worker_threads; one transferred buffer per batch each way)
 *                        → sender (bounded send queue) → socket
 *
 * API
 *   const pipeline = await createPipeline({
 *     listenAddr: { host: '127.0.0.1', port: 0 }, clock,
 *     route: (datagram) => 'fast' | 'batched' | 'drop',        // default: batched if there is a batched lane
 *     lanes: {
 *       fast: { handle(datagram, from, receivedAt, send) { send(from, (sentAt) => reply) } },
 *       batched: { maxBatch: 64, flushMs: 1, workers: 2, queueCapacity: 8192,
 *                  handlerModule: new URL('./my-handler.js', import.meta.url), handlerInit: {...},
 *                  prepare: ({ dispatchNs, oldestReceivedNs, count }) => meta },   // per batch, main thread
 *     },
 *   });
 *   pipeline.address            // the bound host and port
 *   pipeline.broadcast(message) // to every handler, before any batch dispatched after it
 *   pipeline.stats()            // counters and per-stage timings (receive, queue wait, batch, compute, send, total)
 *   await pipeline.close()      // drains in order: stop receiving, flush the batcher, workers finish, sender drains, socket closes
 *
 * A handler module exports `createBatchHandler(init)` (see batch-handler.ts) and writes one
 * outcome per datagram: a reply no larger than the request, or a drop with an error code.
 * Every queue is bounded: overload sheds at the edge and is counted, memory never grows.
 * Nothing accepted into the queue before close() is lost by close().
 */
import type { RemoteInfo } from 'node:dgram';
import type { Clock, Nanos } from '../clock/clock.js';
import { DropCounts } from './drop-counts.js';
import { packBatch, readResults } from './batch-codec.js';
import { checkBatchPolicy, decideBatch } from './batcher.js';
import { DropOldestQueue } from './queue.js';
import { DurationHistogram, type StageSummary } from './stats.js';
import { UdpSocket, type Peer } from './udp-socket.js';
import { startWorkerPool, type BatchDone, type BatchExecutor } from './worker-pool.js';

export type { Peer } from './udp-socket.js';

/** Sends a fast-lane reply; a function is called with the instant of the send and returns the bytes. */
export type FastSend = (to: Peer, reply: Uint8Array | ((sentAt: Nanos) => Uint8Array)) => void;

export interface FastLane {
  /** Runs on the main thread for each datagram routed here; must not throw for bad datagrams. */
  handle(datagram: Buffer, from: RemoteInfo, receivedAt: Nanos, send: FastSend): void;
}

/** What `prepare` learns about a batch as it leaves for a worker. */
export interface BatchDispatch {
  readonly dispatchNs: Nanos;
  readonly oldestReceivedNs: Nanos;
  readonly count: number;
}

export interface BatchedLane {
  /** Most requests per batch (default 64). */
  readonly maxBatch?: number;
  /** Longest a request waits for its batch to fill, ms (default 1; 0 = go as soon as a worker is free). */
  readonly flushMs?: number;
  /** Worker threads (default 1; 0 = run the handler on the main thread). */
  readonly workers?: number;
  /** Requests the queue holds before it drops the oldest (default 8192). */
  readonly queueCapacity?: number;
  /** Compiled JS module exporting createBatchHandler. */
  readonly handlerModule: URL | string;
  /** Passed to createBatchHandler in each worker (structured clone). */
  readonly handlerInit: unknown;
  /** Per-batch metadata for the handler, computed on the main thread at dispatch (e.g. the time to sign). */
  prepare?(dispatch: BatchDispatch): unknown;
}

export type Route = 'fast' | 'batched' | 'drop';

export interface PipelineOptions {
  readonly listenAddr: { readonly host: string; readonly port: number };
  readonly clock: Clock;
  readonly lanes: { readonly fast?: FastLane; readonly batched?: BatchedLane };
  /** Which lane a datagram takes; default: batched when there is a batched lane, else fast. */
  readonly route?: (datagram: Buffer) => Route;
  /** Datagrams the socket may hold unsent before replies are shed (default 4096). */
  readonly maxSendQueue?: number;
  /** SO_RCVBUF to ask for, bytes (default: the system's). */
  readonly receiveBufferBytes?: number;
  /** Told about each batch a handler failed on (its requests get no reply). */
  readonly onBatchError?: (error: Error, count: number) => void;
}

export interface PipelineStats {
  readonly received: number;
  readonly answered: number;
  readonly queued: number;
  /** Load shed without looking at the request, by where. */
  readonly shed: { readonly queueFull: number; readonly sendQueueFull: number; readonly routedAway: number };
  /** Requests a handler declined, by reason (error code's short name). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Requests lost to a failed batch (a handler bug or a dead worker). */
  readonly failed: number;
  readonly sendErrors: number;
  readonly batches: number;
  readonly meanBatch: number;
  readonly stages: {
    /** Receipt to enqueued, sampled. */
    readonly receive: StageSummary;
    /** Per request: receipt to leaving for a worker. */
    readonly queueWait: StageSummary;
    /** Per batch: its oldest request's receipt to dispatch (how long it took to fill). */
    readonly batch: StageSummary;
    /** Per batch: handler time in the worker. */
    readonly compute: StageSummary;
    /** Per batch: result back on the main thread to last reply handed to the socket. */
    readonly send: StageSummary;
    /** Per request: receipt to its reply handed to the socket. */
    readonly total: StageSummary;
    /** Fast lane, per reply: receipt to send. */
    readonly fast: StageSummary;
  };
}

export type StageName = keyof PipelineStats['stages'];

export interface Pipeline {
  readonly address: { readonly host: string; readonly port: number };
  /** The live per-stage histograms (metrics export them; stats() summarises them). */
  readonly timings: Readonly<Record<StageName, DurationHistogram>>;
  /** Sends a datagram of the program's own accord (a slave opening a check), stamped at the send. */
  send: FastSend;
  broadcast(message: unknown): void;
  stats(): PipelineStats;
  /** Drains and closes; resolves with the final stats. Safe to call twice. */
  close(): Promise<PipelineStats>;
}

interface Queued {
  readonly datagram: Buffer;
  readonly address: string;
  readonly port: number;
  readonly receivedAt: Nanos;
}

const RECEIVE_SAMPLE_EVERY = 64;

/** Binds the socket, starts the workers, and starts serving. */
export async function createPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { clock, lanes } = options;
  if (!lanes.fast && !lanes.batched) throw new RangeError('a pipeline needs a fast lane, a batched lane or both');
  const batched = lanes.batched;
  const policy = batched
    ? checkBatchPolicy({ maxBatch: batched.maxBatch ?? 64, flushMs: batched.flushMs ?? 1 })
    : undefined;
  const executor: BatchExecutor | undefined = batched
    ? await startWorkerPool({
        handlerModule: batched.handlerModule,
        init: batched.handlerInit,
        workers: batched.workers ?? 1,
      })
    : undefined;
  const queue = new DropOldestQueue<Queued>(batched?.queueCapacity ?? 8192);
  const route = options.route ?? ((): Route => (batched ? 'batched' : 'fast'));

  const stages: Record<StageName, DurationHistogram> = {
    receive: new DurationHistogram(),
    queueWait: new DurationHistogram(),
    batch: new DurationHistogram(),
    compute: new DurationHistogram(),
    send: new DurationHistogram(),
    total: new DurationHistogram(),
    fast: new DurationHistogram(),
  };
  const dropped = new DropCounts();
  let received = 0;
  let answered = 0;
  let routedAway = 0;
  let failed = 0;
  let batches = 0;
  let batchedRequests = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerExpired = false;
  let draining = false;
  let drained: (() => void) | undefined;

  const fastSend =
    (receivedAt: Nanos): FastSend =>
    (to, reply) => {
      const sentAt = clock.now();
      const bytes = typeof reply === 'function' ? reply(sentAt) : reply;
      if (socket.send(bytes, to.port, to.address)) {
        answered++;
        stages.fast.record(Number(sentAt - receivedAt));
      }
    };

  const onDatagram = (datagram: Buffer, from: RemoteInfo, receivedAt: Nanos): void => {
    received++;
    const lane = route(datagram);
    if (lane === 'fast' && lanes.fast) {
      lanes.fast.handle(datagram, from, receivedAt, fastSend(receivedAt));
      return;
    }
    if (lane !== 'batched' || !batched) {
      routedAway++;
      return;
    }
    queue.push({ datagram, address: from.address, port: from.port, receivedAt });
    pump();
    if (received % RECEIVE_SAMPLE_EVERY === 0) stages.receive.record(Number(clock.now() - receivedAt));
  };

  const socket = await UdpSocket.bind(options.listenAddr, clock, onDatagram, {
    maxSendQueue: options.maxSendQueue,
    receiveBufferBytes: options.receiveBufferBytes,
  });

  function pump(): void {
    if (!executor || !policy) return;
    for (;;) {
      const decision = decideBatch(policy, {
        queued: queue.length,
        freeSlots: executor.freeSlots(),
        timerExpired,
        draining,
        idleWorkers: executor.idleWorkers(),
      });
      if (decision.kind === 'idle') break;
      if (decision.kind === 'wait') {
        timer ??= setTimeout(() => {
          timer = undefined;
          timerExpired = true;
          pump();
        }, policy.flushMs);
        break;
      }
      dispatch(queue.take(decision.take));
      timerExpired = false;
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
    }
    if (draining && queue.length === 0 && executor.inFlight() === 0) drained?.();
  }

  function dispatch(items: Queued[]): void {
    const dispatchNs = clock.now();
    const oldestReceivedNs = items[0]!.receivedAt;
    stages.batch.record(Number(dispatchNs - oldestReceivedNs));
    for (const item of items) stages.queueWait.record(Number(dispatchNs - item.receivedAt));
    const meta = batched!.prepare?.({ dispatchNs, oldestReceivedNs, count: items.length });
    batches++;
    batchedRequests += items.length;
    executor!.submit(packBatch(items.map((item) => item.datagram)), meta, (result) => onResult(items, result));
  }

  function onResult(items: Queued[], result: BatchDone | Error): void {
    // The worker may be idle now: give it the next batch before sending these replies, so it
    // computes while this thread sends.
    pump();
    if (result instanceof Error) {
      failed += items.length;
      options.onBatchError?.(result, items.length);
    } else {
      stages.compute.record(result.computeNs);
      const sendStart = clock.now();
      readResults(result.output, (i, reply, code) => {
        if (reply !== undefined) {
          const item = items[i]!;
          if (socket.send(reply, item.port, item.address)) answered++;
        } else if (code !== undefined) {
          dropped.add(code);
        }
      });
      const sendEnd = clock.now();
      stages.send.record(Number(sendEnd - sendStart));
      for (const item of items) stages.total.record(Number(sendEnd - item.receivedAt));
    }
    pump();
  }

  const stats = (): PipelineStats => ({
    received,
    answered,
    queued: queue.length,
    shed: { queueFull: queue.dropped, sendQueueFull: socket.sendShed, routedAway },
    dropped: dropped.snapshot(),
    failed,
    sendErrors: socket.sendErrors,
    batches,
    meanBatch: batches === 0 ? 0 : Math.round((batchedRequests / batches) * 10) / 10,
    stages: {
      receive: stages.receive.summary(),
      queueWait: stages.queueWait.summary(),
      batch: stages.batch.summary(),
      compute: stages.compute.summary(),
      send: stages.send.summary(),
      total: stages.total.summary(),
      fast: stages.fast.summary(),
    },
  });

  let closing: Promise<PipelineStats> | undefined;
  const close = (): Promise<PipelineStats> => {
    closing ??= (async () => {
      // 1. Nothing new is accepted. 2. The batcher flushes everything queued. 3. Workers finish.
      socket.stopReceiving();
      if (executor) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          draining = true;
          pump();
        });
        if (timer !== undefined) clearTimeout(timer);
        await executor.close();
      }
      // 4. The sender drains (the socket waits for its send queue), then the socket closes.
      await socket.close();
      return stats();
    })();
    return closing;
  };

  return {
    address: socket.address,
    timings: stages,
    send: (to, reply) => {
      const bytes = typeof reply === 'function' ? reply(clock.now()) : reply;
      socket.send(bytes, to.port, to.address);
    },
    broadcast: (message) => executor?.broadcast(message),
    stats,
    close,
  };
}
