/**
 * A minimal Roughtime server for tests, on 127.0.0.1 only: answers each datagram alone through
 * the responder the server runs (test/roughtime/responder.ts), and can be told to grease (bad signature, time a day off), send garbage or
 * stay silent per request. The real pipeline server comes in its own issue.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock/clock.js';
import { SystemClock } from '../../src/clock/system-clock.js';
import { signMessage, signingKeyFromSeed, type SigningKey } from '../../src/roughtime/crypto.js';
import { frame, unframe } from '../../src/roughtime/frame.js';
import { RtMessage, encodeMessage, u32le } from '../../src/roughtime/message.js';
import { Tag } from '../../src/roughtime/tags.js';
import type { RoughtimeServer } from '../../src/roughtime/server-list.js';
import { ALL_IETF_VERSIONS, RFC, type WireVersion } from '../../src/roughtime/versions.js';
import { localResponder } from './responder.js';

export type Behaviour = 'answer' | 'grease' | 'garbage' | 'silent';

export interface TestServerOptions {
  readonly name?: string;
  readonly seed?: number;
  /** What to do with request n (1-based). Default: always answer. */
  readonly behaviour?: (n: number) => Behaviour;
  /** Added to the true time: a lying server. */
  readonly offsetNs?: bigint;
  readonly radiNs?: number;
  /** Sign RADI 0 (as servers that truncate a sub-second radius do): SREP rewritten and re-signed. */
  readonly radiZero?: boolean;
  readonly versions?: readonly WireVersion[];
}

export interface TestServer {
  readonly server: RoughtimeServer;
  readonly port: number;
  readonly publicKey: Uint8Array;
  /** Datagrams received so far. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** The real wall clock, as the client and server use it in production. */
export function testClock(): Clock {
  return new SystemClock();
}

const DAY_NS = 86_400_000_000_000n;

/** An IETF response with RADI 0 in its SREP, re-signed by the online key so it still verifies. */
function withRadiZero(response: Uint8Array, onlineKey: SigningKey): Uint8Array {
  const top = RtMessage.parse(unframe(response));
  const srep = RtMessage.parse(top.require(Tag.SREP));
  const srepFields = new Map(srep.tags.map((tag, i) => [tag, srep.values[i]!] as const));
  srepFields.set(Tag.RADI, u32le(0));
  const signed = encodeMessage([...srepFields]);
  const fields = new Map(top.tags.map((tag, i) => [tag, top.values[i]!] as const));
  fields.set(Tag.SREP, signed);
  fields.set(Tag.SIG, signMessage(onlineKey, RFC.responseContext, signed));
  return frame(encodeMessage([...fields]));
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const clock = testClock();
  const seed = options.seed ?? 1;
  const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(seed));
  const now = clock.now();
  const onlineKey = signingKeyFromSeed(new Uint8Array(32).fill(seed + 100));
  const responder = localResponder({
    longTermKey,
    onlineSeed: new Uint8Array(32).fill(seed + 100),
    mintNs: now - 10n * DAY_NS,
    maxtNs: now + 10n * DAY_NS,
    versions: options.versions ?? [...ALL_IETF_VERSIONS, 'google'],
  });
  const behaviour = options.behaviour ?? (() => 'answer');
  const socket = createSocket('udp4');
  let received = 0;
  socket.on('message', (packet, peer) => {
    received++;
    const action = behaviour(received);
    if (action === 'silent') return;
    if (action === 'garbage') {
      socket.send(new Uint8Array(64).fill(0x5a), peer.port, peer.address);
      return;
    }
    const midpNs = clock.now() + (options.offsetNs ?? 0n) + (action === 'grease' ? DAY_NS : 0n);
    const [outcome] = responder.respond([new Uint8Array(packet)], { midpNs, radiNs: options.radiNs ?? 1e9 });
    if (!outcome || !('response' in outcome)) return;
    const response = options.radiZero ? withRadiZero(outcome.response, onlineKey) : new Uint8Array(outcome.response);
    // Grease as deployed servers do: a wrong time under a signature that does not verify. SIG is
    // the first value, right after the header (8 bytes a tag: 7 tags framed, 6 for Google).
    if (action === 'grease') {
      const sigAt = response[0] === 0x52 ? 12 + 8 * 7 : 8 * 6;
      response[sigAt] = response[sigAt]! ^ 0x01;
    }
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  const server: RoughtimeServer = {
    name: options.name ?? `test-${seed}`,
    host: '127.0.0.1',
    port,
    publicKey: longTermKey.publicKey,
    versions: [...ALL_IETF_VERSIONS],
  };
  return {
    server,
    port,
    publicKey: longTermKey.publicKey,
    received: () => received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
