/**
 * One load-generator thread: `sockets` UDP sockets, each with a window of `window` requests in
 * flight (closed loop: a reply frees its slot, which sends again at once). Requests are built
 * before the clock starts; slot i's nonce starts with i so a reply names its slot. Every
 * `verifyEvery`-th reply is verified in full (a reply that does not verify is a failure); a slot
 * unanswered for `timeoutMs` is sent again and counted lost.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { unframe } from '../../src/roughtime/frame.js';
import { RtMessage } from '../../src/roughtime/message.js';
import { buildRequest, decodeRequest } from '../../src/roughtime/request.js';
import { Tag } from '../../src/roughtime/tags.js';
import { verifyResponse } from '../../src/roughtime/verify.js';

export interface LoadConfig {
  readonly port: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly sockets: number;
  readonly window: number;
  readonly versions: 'google' | number[];
  /** The server's key, or undefined for the echo baseline (no verification). */
  readonly publicKey?: Uint8Array;
  readonly verifyEvery: number;
  readonly timeoutMs: number;
}

export interface LoadResult {
  readonly replies: number;
  readonly verified: number;
  readonly failures: number;
  readonly lost: number;
  /** Latency samples in microseconds (every reply in the measured window, capped). */
  readonly latenciesUs: Float64Array;
}

const config = workerData as LoadConfig;
const MAX_SAMPLES = 400_000;
const latencies = new Float64Array(MAX_SAMPLES);
let samples = 0;
let replies = 0;
let verified = 0;
let failures = 0;
let lost = 0;
let measuring = false;
let stopped = false;
let nonceOffset = -1;

interface Slot {
  readonly request: Uint8Array;
  sentAt: number;
}

function open(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

function nonceAt(reply: Uint8Array, request: Uint8Array): number {
  if (config.publicKey === undefined) return decodeRequest(request).nonce.byteOffset - request.byteOffset;
  const top = RtMessage.parse(reply[0] === 0x52 ? unframe(reply) : reply, 'response');
  return top.require(Tag.NONC).byteOffset - reply.byteOffset;
}

const sockets = await Promise.all(Array.from({ length: config.sockets }, open));
const all: Array<{ socket: Socket; slots: Slot[] }> = sockets.map((socket) => {
  const slots = Array.from({ length: config.window }, (_, i): Slot => {
    const nonce = randomBytes(config.versions === 'google' ? 64 : 32);
    nonce.writeUInt32LE(i, 0);
    return { request: buildRequest({ versions: config.versions, nonce }), sentAt: 0 };
  });
  const send = (slot: Slot): void => {
    slot.sentAt = performance.now();
    socket.send(slot.request, config.port, '127.0.0.1');
  };
  socket.on('message', (reply) => {
    if (stopped) return;
    if (nonceOffset < 0) {
      try {
        nonceOffset = nonceAt(reply, slots[0]!.request);
      } catch {
        failures++;
        return;
      }
    }
    const slot = slots[reply.readUInt32LE(nonceOffset)];
    if (slot === undefined) {
      failures++;
      return;
    }
    const now = performance.now();
    if (measuring) {
      replies++;
      if (samples < MAX_SAMPLES) latencies[samples++] = (now - slot.sentAt) * 1000;
      if (config.publicKey !== undefined && replies % config.verifyEvery === 0) {
        verified++;
        if (!verifyResponse({ request: slot.request, response: reply, publicKey: config.publicKey }).valid) failures++;
      }
    }
    send(slot);
  });
  socket.on('error', () => undefined);
  for (const slot of slots) send(slot);
  return { socket, slots };
});

const resend = setInterval(
  () => {
    const now = performance.now();
    for (const { socket, slots } of all) {
      for (const slot of slots) {
        if (now - slot.sentAt > config.timeoutMs) {
          if (measuring) lost++;
          slot.sentAt = now;
          socket.send(slot.request, config.port, '127.0.0.1');
        }
      }
    }
  },
  Math.max(10, config.timeoutMs / 4),
);

setTimeout(() => {
  measuring = true;
  parentPort!.postMessage({ kind: 'measuring' });
}, config.warmupMs);
setTimeout(() => {
  measuring = false;
  stopped = true;
  clearInterval(resend);
  for (const { socket } of all) socket.close();
  const result: LoadResult = { replies, verified, failures, lost, latenciesUs: latencies.slice(0, samples) };
  parentPort!.postMessage({ kind: 'done', result }, [result.latenciesUs.buffer as ArrayBuffer]);
}, config.warmupMs + config.durationMs);
