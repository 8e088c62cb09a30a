/**
 * The Roughtime server: the pipeline (socket, bounded queue, batcher, workers, sender) with the
 * Roughtime batch handler in its workers. This file is the main-thread side: it owns the
 * long-term key, delegates and rotates the online key, and states for each batch its time
 * (MIDP = the moment the batch leaves for a worker) and uncertainty:
 *
 *   RADI = the clock's own uncertainty + how long the oldest request of the batch waited
 *          + a processing allowance (until the reply is sent) + the clock's resolution,
 *
 * so the interval covers the server's time at every instant it held any request of the batch.
 * RADI is never 0 (at least one unit of the version: 1 s or 1 µs).
 *
 * A node starts one next to its saturn socket:
 *   const rt = await startRoughtimeServer({ listenAddr, keys, clock, logger });
 *   rt.address; rt.publicKey; rt.stats(); await rt.close();
 */
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { createPipeline, type BatchDispatch, type PipelineStats } from '../pipeline/pipeline.js';
import { serverId } from './crypto.js';
import type { ErrorCode } from '../errors.js';
import { MAX_REQUEST_PACKET_BYTES, MIN_REQUEST_PACKET_BYTES, type AcceptPolicy } from './request.js';
import type { BatchTime } from './server-core.js';
import { OnlineKeys, type OnlineKeyOptions, type RoughtimeKeys } from './server-keys.js';
import type { RotateMessage, RoughtimeWorkerInit } from './server-worker.js';
import { ALL_IETF_VERSIONS, type WireVersion } from './versions.js';
import { formatHostPort } from '../util/parse.js';

/** Every version this server answers by default: RFC, drafts 12-19, drafts 08-11 and Google's original. */
export const SERVED_VERSIONS: readonly WireVersion[] = [...ALL_IETF_VERSIONS, 'google'];

export interface RoughtimePipelineOptions {
  /** Requests per batch (one tree, one signature); default 64. */
  readonly maxBatch?: number;
  /** Longest wait for a batch to fill, ms; default 1. */
  readonly flushMs?: number;
  /** Sign what has been read when the socket is drained, without waiting for a full batch (default true). */
  readonly cutOnDrain?: boolean;
  /** Worker threads; default 1 (0 = sign on the main thread). */
  readonly workers?: number;
  /** Requests queued before the oldest is dropped; default 8192. */
  readonly queueCapacity?: number;
  /** Bytes of requests queued before the oldest is dropped; default 8 MiB. */
  readonly queueBytes?: number;
  /** SO_RCVBUF to ask for, bytes. */
  readonly receiveBufferBytes?: number;
}

export interface RoughtimeServerOptions {
  readonly listenAddr: { readonly host: string; readonly port: number };
  readonly keys: RoughtimeKeys;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly versions?: readonly WireVersion[];
  /** The uncertainty of the local clock itself, ns (default 1 s; a node that measured it better may say so). */
  readonly clockUncertaintyNs?: () => number;
  /** Time allowed from dispatch to the reply leaving, ns (default 10 ms). */
  readonly processingAllowanceNs?: number;
  readonly delegation?: OnlineKeyOptions;
  readonly pipelineOptions?: RoughtimePipelineOptions;
}

export interface RoughtimeServerStats extends PipelineStats {
  /** Online keys delegated so far (1 at start, +1 per rotation). */
  readonly delegations: number;
}

export interface RunningRoughtimeServer {
  readonly address: { readonly host: string; readonly port: number };
  /** The long-term public key clients must know. */
  readonly publicKey: Uint8Array;
  stats(): RoughtimeServerStats;
  /** Drains (every accepted request is answered) and closes; resolves with the final stats. */
  close(): Promise<RoughtimeServerStats>;
}

/** The default of the local clock's uncertainty (RoughtimeServerOptions.clockUncertaintyNs), ns. */
export const DEFAULT_CLOCK_UNCERTAINTY_NS = 1_000_000_000;

/** Where `saturn roughtime serve` answers by default: the port Roughtime servers commonly use. */
export const DEFAULT_ROUGHTIME_LISTEN = '0.0.0.0:2002';

/** The socket's size check: RT_SHORT below 1024 bytes, RT_LONG above 1472, undefined for a possible request. */
export function screenDatagram(datagram: Uint8Array): ErrorCode | undefined {
  const length = datagram.byteLength;
  if (length < MIN_REQUEST_PACKET_BYTES) return 'SATURN_ERR_RT_SHORT';
  if (length > MAX_REQUEST_PACKET_BYTES) return 'SATURN_ERR_RT_LONG';
  return undefined;
}

/** Starts a Roughtime server; resolves once the socket is bound and the workers are ready. */
export async function startRoughtimeServer(options: RoughtimeServerOptions): Promise<RunningRoughtimeServer> {
  const { clock, keys, logger } = options;
  const policy: AcceptPolicy = {
    versions: [...(options.versions ?? SERVED_VERSIONS)],
    serverIds: [serverId(keys.longTermKey.publicKey)],
  };
  const online = new OnlineKeys(keys.longTermKey, options.delegation);
  const first = online.at(clock.now()).delegation;
  const uncertaintyNs = options.clockUncertaintyNs ?? (() => DEFAULT_CLOCK_UNCERTAINTY_NS);
  const allowanceNs = options.processingAllowanceNs ?? 10_000_000;
  const pipelineOptions = options.pipelineOptions ?? {};
  const init: RoughtimeWorkerInit = { policy, delegation: first };

  let broadcast: (message: RotateMessage) => void = () => undefined;
  const prepare = ({ dispatchedAt, oldestReceivedAt }: BatchDispatch): BatchTime => {
    const { delegation, renewed } = online.at(dispatchedAt.wall);
    if (renewed) {
      // Posted before this batch, so every worker has the new key when the batch arrives.
      broadcast({ kind: 'delegation', delegation });
      logger?.info(
        { mint: String(delegation.mintNs), maxt: String(delegation.maxtNs) },
        'roughtime online key rotated',
      );
    }
    const waitedNs = Number(dispatchedAt.mono - oldestReceivedAt.mono);
    return {
      midpNs: dispatchedAt.wall,
      radiNs: Math.max(0, uncertaintyNs()) + Math.max(0, waitedNs) + allowanceNs + clock.resolutionNs,
    };
  };

  const pipeline = await createPipeline({
    listenAddr: options.listenAddr,
    clock,
    receiveBufferBytes: pipelineOptions.receiveBufferBytes,
    lanes: {
      batched: {
        maxBatch: pipelineOptions.maxBatch,
        flushMs: pipelineOptions.flushMs,
        cutOnDrain: pipelineOptions.cutOnDrain,
        workers: pipelineOptions.workers,
        queueCapacity: pipelineOptions.queueCapacity,
        queueBytes: pipelineOptions.queueBytes,
        // A datagram no request can be (short, or longer than any client sends) is refused at the
        // socket: it never takes room in the queue or a worker's time.
        screen: screenDatagram,
        handlerModule: new URL('./server-worker.js', import.meta.url),
        handlerInit: init,
        prepare,
        onBatchError: (error, count) => logger?.error({ err: error.message, count }, 'roughtime batch failed'),
      },
    },
  });
  broadcast = (message) => pipeline.broadcast(message);
  const withKeys = (stats: PipelineStats): RoughtimeServerStats => ({ ...stats, delegations: online.issued });
  if (keys.adHoc) logger?.warn({}, 'roughtime server uses an ad hoc long-term key: not for production');
  logger?.info(
    {
      addr: formatHostPort(pipeline.address),
      publicKey: Buffer.from(keys.longTermKey.publicKey).toString('base64'),
    },
    'roughtime server listening',
  );
  return {
    address: pipeline.address,
    publicKey: keys.longTermKey.publicKey,
    stats: () => withKeys(pipeline.stats()),
    close: async () => withKeys(await pipeline.close()),
  };
}
