/**
 * The UDP Roughtime client. A query sends a fresh request per attempt, waits with the spec's
 * backoff, and accepts only an answer that verifies against one of its outstanding requests.
 * Invalid answers (greasing, forgeries, stale replies) are rejected and counted, and the query
 * tries again; they are never trusted. Its datagrams go through the pipeline (client-edge.ts):
 * sends and receipts are stamped at the socket, and answers are verified on a worker thread.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Clock, Instant, Nanos, OffsetNs, Timer } from '../clock/clock.js';
import { SaturnError } from '../errors.js';
import { retryDelayMs, type BackoffOptions } from '../util/backoff.js';
import { nonceSource, runChain, type ChainOutcome, type NonceSource } from './chain.js';
import { buildRequest } from './request.js';
import type { RoughtimeServer } from './server-list.js';
import { RoughtimeClientEdge, type AddressFamily } from './client-edge.js';
import type { VerifyResult } from './verify.js';
import { GOOGLE, RFC } from './versions.js';

/** The defaults of QueryOptions: requests per server before giving up, and the first attempt's wait, ns (growing 1.5x per retry). */
export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_QUERY_TIMEOUT_NS = 1_000_000_000;

export interface QueryOptions {
  /** Timestamps of send and receive; the only clock the client reads. */
  readonly clock: Clock;
  /** Requests to send before giving up. Default 3. */
  readonly attempts?: number;
  /** Wait per attempt: 1 s × 1.5^(n-1) by default (tests pass short ones). */
  readonly backoff?: BackoffOptions;
  /** Nonces per attempt; default random (chains pass one derived from the previous answer). */
  readonly nonces?: NonceSource;
  readonly signal?: AbortSignal;
  /** The pipeline edge to send and verify through; default: one opened for this query and closed after. */
  readonly edge?: RoughtimeClientEdge;
}

/** A verified answer and what it says about the local clock. */
export interface QueryAnswer {
  readonly server: RoughtimeServer;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  readonly rand: Uint8Array | undefined;
  readonly result: VerifyResult;
  readonly sentNs: Nanos;
  readonly receivedNs: Nanos;
  readonly rttNs: number;
  /** Requests sent, including the answered one. */
  readonly attempts: number;
  /** Reasons of the invalid answers rejected on the way (greasing shows up here). */
  readonly rejected: readonly string[];
  /** The local clock at the middle of the exchange minus MIDP: positive when the local clock is ahead. */
  readonly offsetNs: OffsetNs;
  /** How far the offset may be off: RADI plus half the round trip. */
  readonly uncertaintyNs: number;
  /** The local clock lies in MIDP ± (RADI + RTT/2). */
  readonly withinInterval: boolean;
}

interface Outstanding {
  readonly request: Uint8Array;
  readonly rand: Uint8Array | undefined;
  /** The send, stamped at the socket. */
  readonly sentAt: Instant;
}

async function resolve(host: string): Promise<{ address: string; type: AddressFamily }> {
  const literal = isIP(host);
  if (literal !== 0) return { address: host, type: literal === 6 ? 'udp6' : 'udp4' };
  const found = await lookup(host);
  return { address: found.address, type: found.family === 6 ? 'udp6' : 'udp4' };
}

/** Runs `fn` with the given edge, or with one opened for it and closed after. */
async function withEdge<T>(options: QueryOptions, fn: (edge: RoughtimeClientEdge) => Promise<T>): Promise<T> {
  if (options.edge !== undefined) return fn(options.edge);
  const edge = await RoughtimeClientEdge.open(options.clock);
  try {
    return await fn(edge);
  } finally {
    await edge.close();
  }
}

/** Queries one server; throws SaturnError RT_TIMEOUT when no valid answer came in any attempt. */
export function queryServer(server: RoughtimeServer, options: QueryOptions): Promise<QueryAnswer> {
  return withEdge(options, (edge) => queryThrough(edge, server, options));
}

async function queryThrough(
  edge: RoughtimeClientEdge,
  server: RoughtimeServer,
  options: QueryOptions,
): Promise<QueryAnswer> {
  const { clock, attempts: maxAttempts = DEFAULT_ATTEMPTS, signal } = options;
  const backoff = { initialMs: DEFAULT_QUERY_TIMEOUT_NS / 1e6, ...options.backoff };
  const nonces = options.nonces ?? nonceSource(undefined);
  const family = server.versions === 'google' ? GOOGLE : RFC;
  const { address, type } = await resolve(server.host);
  await edge.ready(type);
  const peer = { address, port: server.port };
  const outstanding: Outstanding[] = [];
  const rejected: string[] = [];
  let attempts = 0;
  let stopListening = (): void => undefined;
  try {
    return await new Promise<QueryAnswer>((settle, fail) => {
      let timer: Timer | undefined;
      let done = false;
      const finish = (error: unknown, answer?: QueryAnswer): void => {
        if (done) return;
        done = true;
        timer?.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (answer) settle(answer);
        else fail(error);
      };
      const onAbort = (): void =>
        finish(new SaturnError('SATURN_ERR_RT_TIMEOUT', `query of ${server.name} was aborted`));
      const attempt = (): void => {
        if (done) return;
        if (attempts >= maxAttempts) {
          // IETF requests name the key (SRV) and a server drops those for another: a wrong key looks like silence.
          const silent =
            server.versions === 'google'
              ? `${server.name} did not answer ${attempts} request(s): it is down or unreachable`
              : `${server.name} did not answer ${attempts} request(s): it is down or unreachable, or it does not hold the public key given (a server ignores requests for another key)`;
          finish(
            new SaturnError(
              'SATURN_ERR_RT_TIMEOUT',
              rejected.length > 0
                ? `${server.name} gave no valid answer to ${attempts} request(s); rejected ${rejected.length} invalid answer(s), last: ${rejected.at(-1)}`
                : silent,
            ),
          );
          return;
        }
        attempts++;
        const { nonce, rand } = nonces(family);
        const request = buildRequest({
          versions: server.versions,
          nonce,
          serverPublicKey: server.versions === 'google' ? undefined : server.publicKey,
        });
        // A send the socket refuses is just another unanswered attempt.
        const { sentAt } = edge.send(type, peer, request);
        outstanding.push({ request, rand, sentAt });
        timer?.cancel();
        timer = clock.setTimer(retryDelayMs(attempts, backoff) * 1e6, attempt);
      };
      const onAnswer = async (response: Uint8Array, receivedAt: Instant): Promise<void> => {
        // Newest first: after retries, the latest request is the likeliest to be answered.
        const candidates = [...outstanding].reverse();
        let verdicts: VerifyResult[];
        try {
          verdicts = await edge.verify(
            candidates.map((sent) => ({ request: sent.request, response, publicKey: server.publicKey })),
          );
        } catch (error) {
          finish(error);
          return;
        }
        if (done) return;
        const valid = verdicts.findIndex((v) => v.valid);
        if (valid >= 0) {
          finish(
            undefined,
            answerOf(server, candidates[valid]!, response, verdicts[valid]!, receivedAt, attempts, rejected),
          );
          return;
        }
        rejected.push(verdicts[0]?.reason ?? 'answer matches no outstanding request');
        // Greasing servers answer invalidly now and then: ask again at once rather than wait out the timer.
        attempt();
      };
      stopListening = edge.listen((datagram, from, receivedAt) => {
        // Only the server's own address answers (what a connected socket would accept).
        if (done || from.port !== peer.port || from.address !== peer.address) return;
        void onAnswer(new Uint8Array(datagram), receivedAt);
      });
      signal?.addEventListener('abort', onAbort);
      if (signal?.aborted) onAbort();
      else attempt();
    });
  } finally {
    stopListening();
  }
}

function answerOf(
  server: RoughtimeServer,
  sent: Outstanding,
  response: Uint8Array,
  result: VerifyResult,
  receivedAt: Instant,
  attempts: number,
  rejected: string[],
): QueryAnswer {
  // The round trip is an age (monotonic); the middle of the exchange is read on the wall clock.
  const rttNs = Number(receivedAt.mono - sent.sentAt.mono);
  const localMiddleNs = sent.sentAt.wall + BigInt(Math.round(rttNs / 2));
  const offsetNs = Number(localMiddleNs - result.midpNs!);
  const uncertaintyNs = result.radiNs! + rttNs / 2;
  return {
    server,
    request: sent.request,
    response,
    rand: sent.rand,
    result,
    sentNs: sent.sentAt.wall,
    receivedNs: receivedAt.wall,
    rttNs,
    attempts,
    rejected: [...rejected],
    offsetNs,
    uncertaintyNs,
    withinInterval: !result.unsynchronised && Math.abs(offsetNs) <= uncertaintyNs,
  };
}

/** Queries servers in order with chained nonces; see runChain for gaps and contradictions. */
export function queryChain(
  servers: readonly RoughtimeServer[],
  options: QueryOptions,
): Promise<ChainOutcome<RoughtimeServer> & { readonly answers: readonly QueryAnswer[] }> {
  const answers: QueryAnswer[] = [];
  return withEdge(options, (edge) =>
    runChain(servers, async (server, nonces) => {
      const answer = await queryServer(server, { ...options, nonces, edge });
      answers.push(answer);
      return answer;
    }).then((outcome) => ({ ...outcome, answers })),
  );
}
