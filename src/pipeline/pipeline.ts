/**
 * The pipeline: the one path every UDP service in saturn takes. This file composes its parts:
 * the socket edge and sender (udp-socket.ts), the fast lane (fast-lane.ts) and the batched lane
 * (batched-lane.ts: queue, batcher, worker pool).
 *
 *   socket (timestamp at receipt)
 *     ├─ fast lane:    handler runs at once on the main thread, no queue, no batching; its reply
 *     │                is built with the instant of the send (saturn legs: nothing is added to
 *     │                the delays they measure, and they never wait behind signatures)
 *     └─ batched lane: bounded queue (drops the OLDEST when full, counted)
 *                        → batcher (flush when the socket is drained, at maxBatch or after flushMs; see batcher.ts)
 *                        → worker pool (worker_threads; one transferred buffer per batch each way)
 *                        → sender (bounded send queue) → socket
 *
 * API
 *   const pipeline = await createPipeline({
 *     listenAddr: { host: '127.0.0.1', port: 0 }, clock,
 *     route: (datagram) => 'fast' | 'batched' | 'drop',        // default: batched if there is a batched lane
 *     lanes: {
 *       fast: { handle(datagram, from, receivedAt, send) { send(from, (sentAt) => reply) } },   // instants: { wall, mono }
 *       batched: { maxBatch: 64, flushMs: 1, workers: 2, queueCapacity: 8192,
 *                  queueBytes: 8 << 20, screen: (datagram) => code | undefined,   // refused at the socket, counted
 *                  handlerModule: new URL('./my-handler.js', import.meta.url), handlerInit: {...},
 *                  prepare: ({ dispatchedAt, oldestReceivedAt, count }) => meta },   // per batch, main thread
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
import type { Clock, Instant } from '../clock/clock.js';
import { BatchedLane, type BatchedLaneOptions, type JobOutcome } from './batched-lane.js';
import { type FastLane, type Reply, fastSendFor, sendStamped } from './fast-lane.js';
import type { Peer } from './udp-socket.js';
import { DurationHistogram, type StageSummary } from './stats.js';
import { UdpSocket } from './udp-socket.js';

export type { BatchDispatch, JobOutcome } from './batched-lane.js';
export type { FastLane, FastSend, Reply } from './fast-lane.js';
export type { Peer } from './udp-socket.js';

export type Route = 'fast' | 'batched' | 'drop';

export interface PipelineOptions {
  readonly listenAddr: { readonly host: string; readonly port: number };
  readonly clock: Clock;
  readonly lanes: { readonly fast?: FastLane; readonly batched?: BatchedLaneOptions };
  /** Which lane a datagram takes; default: batched when there is a batched lane, else fast. */
  readonly route?: (datagram: Buffer) => Route;
  /** Datagrams the socket may hold unsent before replies are shed (default 4096). */
  readonly maxSendQueue?: number;
  /** SO_RCVBUF to ask for, bytes (default: the system's). */
  readonly receiveBufferBytes?: number;
}

export interface PipelineStats {
  readonly received: number;
  readonly answered: number;
  readonly queued: number;
  /** Bytes of the requests in the queue (bounded by the lane's queueBytes). */
  readonly queuedBytes: number;
  /** Load shed without looking at the request, by where. */
  readonly shed: { readonly queueFull: number; readonly sendQueueFull: number; readonly routedAway: number };
  /** Requests a handler declined, by reason (error code's short name). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Requests lost to a failed batch (a handler bug or a dead worker). */
  readonly failed: number;
  readonly sendErrors: number;
  readonly batches: number;
  readonly meanBatch: number;
  /** Per stage (see BatchedTimings), plus `fast`: fast lane, per reply, receipt to send. */
  readonly stages: Readonly<Record<StageName, StageSummary>>;
}

export type StageName = 'receive' | 'queueWait' | 'batch' | 'compute' | 'send' | 'total' | 'fast';

export interface Pipeline {
  readonly address: { readonly host: string; readonly port: number };
  /** The live per-stage histograms (metrics export them; stats() summarises them). */
  readonly timings: Readonly<Record<StageName, DurationHistogram>>;
  /**
   * Sends a datagram of the program's own accord (a slave opening a check, a client's request),
   * stamped at the send; says whether the socket took it and the instant of the send.
   */
  send(to: Peer, reply: Reply): { readonly sent: boolean; readonly sentAt: Instant };
  /**
   * Runs a job on the batched lane's workers (see BatchedLane.run): outcomes come back here, not
   * to the socket. RangeError without a batched lane.
   */
  run(inputs: readonly Uint8Array[], meta: unknown): Promise<JobOutcome[]>;
  broadcast(message: unknown): void;
  stats(): PipelineStats;
  /** Drains and closes; resolves with the final stats. Safe to call twice. */
  close(): Promise<PipelineStats>;
}

/** Binds the socket, starts the workers, and starts serving. */
export async function createPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { clock, lanes } = options;
  if (!lanes.fast && !lanes.batched) throw new RangeError('a pipeline needs a fast lane, a batched lane or both');
  let socket: UdpSocket | undefined;
  const batched = lanes.batched ? await BatchedLane.start(lanes.batched, clock, () => socket!) : undefined;
  const fastHold = new DurationHistogram();
  const route = options.route ?? ((): Route => (batched ? 'batched' : 'fast'));
  let received = 0;
  let fastAnswered = 0;
  let routedAway = 0;
  const countFastReply = () => void fastAnswered++;

  socket = await bindOrStop(
    batched,
    options.listenAddr,
    clock,
    (datagram, from, receivedAt) => {
      received++;
      const lane = route(datagram);
      if (lane === 'fast' && lanes.fast) {
        lanes.fast.handle(
          datagram,
          from,
          receivedAt,
          fastSendFor(socket!, clock, receivedAt, fastHold, countFastReply),
        );
      } else if (lane === 'batched' && batched) {
        batched.push(datagram, from, receivedAt);
      } else {
        routedAway++;
      }
    },
    {
      maxSendQueue: options.maxSendQueue,
      receiveBufferBytes: options.receiveBufferBytes,
      onDrained: batched === undefined ? undefined : () => batched.socketDrained(),
    },
  );
  const edge = socket;
  const idle = new DurationHistogram();
  const timings: Record<StageName, DurationHistogram> = {
    ...(batched?.timings ?? { receive: idle, queueWait: idle, batch: idle, compute: idle, send: idle, total: idle }),
    fast: fastHold,
  };

  const stats = (): PipelineStats => ({
    received,
    answered: fastAnswered + (batched?.answered ?? 0),
    queued: batched?.queued ?? 0,
    queuedBytes: batched?.queuedBytes ?? 0,
    shed: { queueFull: batched?.shed ?? 0, sendQueueFull: edge.sendShed, routedAway },
    dropped: batched?.dropped.snapshot() ?? {},
    failed: batched?.failed ?? 0,
    sendErrors: edge.sendErrors,
    batches: batched?.batches ?? 0,
    meanBatch: batched?.meanBatch ?? 0,
    stages: Object.fromEntries(Object.entries(timings).map(([name, h]) => [name, h.summary()])) as Record<
      StageName,
      StageSummary
    >,
  });

  let closing: Promise<PipelineStats> | undefined;
  return {
    address: edge.address,
    timings,
    send: (to, reply) => sendStamped(edge, clock, to, reply),
    run: (inputs, meta) => {
      if (batched === undefined) throw new RangeError('this pipeline has no batched lane to run jobs on');
      return batched.run(inputs, meta);
    },
    broadcast: (message) => batched?.broadcast(message),
    stats,
    close: () =>
      (closing ??= (async () => {
        // 1. Nothing new is accepted. 2. The batcher flushes everything queued; workers finish.
        // 3. The sender drains (the socket waits for its send queue), then the socket closes.
        edge.stopReceiving();
        await batched?.drain();
        await edge.close();
        return stats();
      })()),
  };
}

/**
 * Binds the socket; on failure stops the lane's workers first (they would keep the process
 * alive after the caller has given up) and throws the bind error as it is, for the caller to
 * turn into one sentence naming its option (service/listen.ts).
 */
async function bindOrStop(
  batched: BatchedLane | undefined,
  ...args: Parameters<typeof UdpSocket.bind>
): Promise<UdpSocket> {
  try {
    return await UdpSocket.bind(...args);
  } catch (error) {
    await batched?.drain();
    throw error;
  }
}
