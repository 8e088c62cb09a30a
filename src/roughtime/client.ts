/**
 * The UDP Roughtime client: the one file here that touches sockets. A query sends a fresh
 * request per attempt, waits with the spec's backoff, and accepts only an answer that verifies
 * against one of its outstanding requests. Invalid answers (greasing, forgeries, stale replies)
 * are rejected and counted, and the query tries again; they are never trusted.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Clock, Nanos, OffsetNs, Timer } from '../clock/clock.js';
import { SaturnError } from '../errors.js';
import { retryDelayMs, type BackoffOptions } from '../util/backoff.js';
import { nonceSource, runChain, type ChainOutcome, type NonceSource } from './chain.js';
import { buildRequest } from './request.js';
import type { RoughtimeServer } from './server-list.js';
import { verifyResponse, type VerifyResult } from './verify.js';
import { GOOGLE, RFC } from './versions.js';

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
  readonly sentNs: Nanos;
}

async function resolve(host: string): Promise<{ address: string; type: 'udp4' | 'udp6' }> {
  const literal = isIP(host);
  if (literal !== 0) return { address: host, type: literal === 6 ? 'udp6' : 'udp4' };
  const found = await lookup(host);
  return { address: found.address, type: found.family === 6 ? 'udp6' : 'udp4' };
}

function connect(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolveConnect, reject) => {
    socket.once('error', reject);
    socket.connect(port, address, () => {
      socket.off('error', reject);
      resolveConnect();
    });
  });
}

/** Queries one server; throws SaturnError RT_TIMEOUT when no valid answer came in any attempt. */
export async function queryServer(server: RoughtimeServer, options: QueryOptions): Promise<QueryAnswer> {
  const { clock, attempts: maxAttempts = 3, backoff, signal } = options;
  const nonces = options.nonces ?? nonceSource(undefined);
  const family = server.versions === 'google' ? GOOGLE : RFC;
  const { address, type } = await resolve(server.host);
  const socket = createSocket({ type });
  const outstanding: Outstanding[] = [];
  const rejected: string[] = [];
  let attempts = 0;
  try {
    await connect(socket, server.port, address);
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
          const greased =
            rejected.length > 0 ? `; rejected ${rejected.length} invalid answer(s), last: ${rejected.at(-1)}` : '';
          finish(
            new SaturnError(
              'SATURN_ERR_RT_TIMEOUT',
              `${server.name} gave no valid answer to ${attempts} request(s)${greased}`,
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
        outstanding.push({ request, rand, sentNs: clock.now() });
        // A send error (ICMP unreachable on a connected socket) is just another unanswered attempt.
        socket.send(request, () => undefined);
        timer?.cancel();
        timer = clock.setTimer(retryDelayMs(attempts, backoff) * 1e6, attempt);
      };
      socket.on('error', () => undefined);
      socket.on('message', (response) => {
        const receivedNs = clock.now();
        let reason = 'answer matches no outstanding request';
        // Newest first: after retries, the latest request is the likeliest to be answered.
        for (let i = outstanding.length - 1; i >= 0; i--) {
          const sent = outstanding[i]!;
          const result = verifyResponse({ request: sent.request, response, publicKey: server.publicKey });
          if (result.valid) {
            finish(undefined, answerOf(server, sent, new Uint8Array(response), result, receivedNs, attempts, rejected));
            return;
          }
          if (i === outstanding.length - 1) reason = result.reason ?? reason;
        }
        rejected.push(reason);
        // Greasing servers answer invalidly now and then: ask again at once rather than wait out the timer.
        attempt();
      });
      signal?.addEventListener('abort', onAbort);
      if (signal?.aborted) onAbort();
      else attempt();
    });
  } finally {
    socket.close();
  }
}

function answerOf(
  server: RoughtimeServer,
  sent: Outstanding,
  response: Uint8Array,
  result: VerifyResult,
  receivedNs: Nanos,
  attempts: number,
  rejected: string[],
): QueryAnswer {
  const rttNs = Number(receivedNs - sent.sentNs);
  const localMiddleNs = sent.sentNs + BigInt(Math.round(rttNs / 2));
  const offsetNs = Number(localMiddleNs - result.midpNs!);
  const uncertaintyNs = result.radiNs! + rttNs / 2;
  return {
    server,
    request: sent.request,
    response,
    rand: sent.rand,
    result,
    sentNs: sent.sentNs,
    receivedNs,
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
  return runChain(servers, async (server, nonces) => {
    const answer = await queryServer(server, { ...options, nonces });
    answers.push(answer);
    return answer;
  }).then((outcome) => ({ ...outcome, answers }));
}
