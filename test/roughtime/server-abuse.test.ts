/**
 * The Roughtime server against requests crafted to abuse the protocol: several VER tags, versions
 * it does not speak, nonces of the wrong size, SRV naming another key, requests just under the
 * minimum size, and a flood of minimum-size requests in every version into batches large enough
 * that replies would outgrow their requests. Whatever it gets, no reply is larger than its request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { SystemClock } from '../../src/clock/system-clock.js';
import { serverId, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { frame } from '../../src/roughtime/frame.js';
import { RtMessage } from '../../src/roughtime/message.js';
import { buildRequest, decodeRequest } from '../../src/roughtime/request.js';
import { startRoughtimeServer, type RunningRoughtimeServer } from '../../src/roughtime/server.js';
import { Tag } from '../../src/roughtime/tags.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import { until } from '../pipeline/udp-client.js';

const keys = { longTermKey: signingKeyFromSeed(new Uint8Array(32).fill(21)), adHoc: false };
const otherKey = signingKeyFromSeed(new Uint8Array(32).fill(22));

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const u32 = (...values: number[]): Uint8Array => {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v, true));
  return out;
};

/** A message with the fields exactly as given (order and duplicates kept), padded by ZZZZ to `messageBytes`. */
function rawMessage(fields: ReadonlyArray<readonly [number, Uint8Array]>, messageBytes = 1024): Uint8Array {
  const header = 8 * (fields.length + 1);
  const used = header + fields.reduce((sum, [, v]) => sum + v.byteLength, 0);
  const all = [...fields, [Tag.ZZZZ, new Uint8Array(messageBytes - used)] as const];
  const out = new Uint8Array(messageBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, all.length, true);
  let offset = 0;
  let at = header;
  all.forEach(([tag, value], i) => {
    if (i > 0) view.setUint32(4 * i, offset, true);
    view.setUint32(4 * all.length + 4 * i, tag, true);
    out.set(value, at);
    at += value.byteLength;
    offset += value.byteLength;
  });
  return out;
}

/** A framed IETF request: VER, NONC and TYPE as given (NONC left out when undefined), plus `extra` fields. */
function ietf(
  ver: Uint8Array,
  nonce: Uint8Array | undefined,
  type = 0,
  extra: ReadonlyArray<readonly [number, Uint8Array]> = [],
  messageBytes = 1024,
): Uint8Array {
  const fields: Array<readonly [number, Uint8Array]> = [[Tag.VER, ver], ...extra];
  if (nonce !== undefined) fields.push([Tag.NONC, nonce]);
  fields.push([Tag.TYPE, u32(type)]);
  return frame(rawMessage(fields, messageBytes));
}

async function serve(maxBatch: number, flushMs: number, cutOnDrain = true): Promise<RunningRoughtimeServer> {
  const server = await startRoughtimeServer({
    listenAddr: { host: '127.0.0.1', port: 0 },
    keys,
    clock: new SystemClock(),
    pipelineOptions: { maxBatch, flushMs, cutOnDrain, workers: 1 },
  });
  cleanups.push(() => server.close());
  return server;
}

/** Sends every datagram at once and collects replies until the server has judged them all. */
async function burst(server: RunningRoughtimeServer, datagrams: readonly Uint8Array[]) {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  const replies: Uint8Array[] = [];
  socket.on('message', (reply) => replies.push(new Uint8Array(reply)));
  const before = server.stats();
  const judged = () => {
    const now = server.stats();
    const dropped = Object.values(now.dropped).reduce((a, b) => a + b, 0);
    const droppedBefore = Object.values(before.dropped).reduce((a, b) => a + b, 0);
    return now.answered - before.answered + dropped - droppedBefore;
  };
  try {
    // In windows of 64, each let in before the next, so the kernel's receive buffer never drops one.
    for (let from = 0; from < datagrams.length; from += 64) {
      for (const datagram of datagrams.slice(from, from + 64)) socket.send(datagram, server.address.port, '127.0.0.1');
      const sent = Math.min(from + 64, datagrams.length);
      await until(() => server.stats().received - before.received === sent, 'the window to arrive', 30_000);
    }
    await until(
      () => server.stats().received - before.received === datagrams.length,
      'every datagram to arrive',
      30_000,
    );
    await until(() => judged() === datagrams.length, 'every datagram to be judged', 30_000);
    const answered = server.stats().answered - before.answered;
    await until(() => replies.length === answered, 'the replies to land', 30_000);
  } finally {
    socket.close();
  }
  return { replies, stats: server.stats() };
}

const nonceOf = (reply: Uint8Array): string => {
  const message = reply[0] === 0x52 ? reply.subarray(12) : reply;
  return Buffer.from(RtMessage.parse(message, 'reply').require(Tag.NONC)).toString('hex');
};

test('abusive requests get no reply; a descending VER list with a common version is answered', async () => {
  const server = await serve(64, 1);
  const nonce = () => new Uint8Array(randomBytes(32));
  const ownSrv = serverId(server.publicKey);
  const abusive: Record<string, Uint8Array> = {
    'two VER tags': ietf(u32(1), nonce(), 0, [[Tag.VER, u32(1)]]),
    'only unknown versions': ietf(u32(2, 0x7777), nonce()),
    'an empty VER': ietf(new Uint8Array(0), nonce()),
    '33 versions': ietf(u32(...Array.from({ length: 33 }, (_, i) => i + 1)), nonce()),
    'a 28-byte NONC': ietf(u32(1), new Uint8Array(28)),
    'a 36-byte NONC': ietf(u32(1), new Uint8Array(36)),
    'a 64-byte NONC in version 1': ietf(u32(1), new Uint8Array(64)),
    'no NONC': ietf(u32(1), undefined),
    'TYPE 1 (a response)': ietf(u32(1), nonce(), 1),
    'SRV naming another key': buildRequest({ versions: [1], nonce: nonce(), serverPublicKey: otherKey.publicKey }),
    'SRV of 28 bytes': ietf(u32(1), nonce(), 0, [[Tag.SRV, ownSrv.subarray(0, 28)]]),
    'a 1020-byte framed request': ietf(u32(1), nonce(), 0, [], 1008),
    'a 1020-byte Google request': rawMessage([[Tag.NONC, new Uint8Array(randomBytes(64))]], 1020),
    'a Google request with a 32-byte nonce': rawMessage([[Tag.NONC, nonce()]], 1024),
    'a frame whose length disagrees with the packet': (() => {
      const packet = buildRequest({ versions: [1], nonce: nonce() });
      new DataView(packet.buffer).setUint32(8, 1000, true);
      return packet;
    })(),
  };

  const { replies, stats } = await burst(server, Object.values(abusive));
  assert.equal(
    replies.length,
    0,
    `${replies.length} abusive request(s) answered; drops ${JSON.stringify(stats.dropped)}`,
  );
  console.log(`${Object.keys(abusive).length} abusive requests, none answered; drops ${JSON.stringify(stats.dropped)}`);

  // Descending, as one well-known client sends it: answered in the common version, verified.
  const descending = ietf(u32(0x8000000c, 1), nonce());
  const answered = await burst(server, [descending]);
  assert.equal(answered.replies.length, 1);
  const result = verifyResponse({ request: descending, response: answered.replies[0]!, publicKey: server.publicKey });
  assert.equal(result.valid, true, result.reason ?? undefined);
  assert.ok(answered.replies[0]!.byteLength <= descending.byteLength);
});

test('a flood of minimum-size requests in every version, in batches of up to 2,048: no reply outgrows its request', async () => {
  // Batches wait up to 5 s to fill (no cut when the socket drains): the first 2,048, all Google, make one tree, so trees grow deep and PATHs long.
  const server = await serve(2048, 5000, false);
  const requests: Uint8Array[] = [];
  const kinds: Array<'google' | number[]> = ['google', [1], [0x8000000c], [0x8000000b], [0x80000008], [1, 0x8000000c]];
  for (let i = 0; i < 3000; i++) {
    // Google first, alone, so its tree (64-byte hashes) is deep enough for replies to outgrow requests.
    const versions = i < 2048 ? 'google' : kinds[i % kinds.length]!;
    const nonce = new Uint8Array(randomBytes(versions === 'google' ? 64 : 32));
    // Clients pad to a 1024-byte message (1036 framed); the smallest a server takes is a 1024-byte packet.
    requests.push(
      versions === 'google' ? rawMessage([[Tag.NONC, nonce]], 1024) : ietf(u32(...versions), nonce, 0, [], 1012),
    );
  }
  const sizeOf = new Map(requests.map((r) => [Buffer.from(decodeRequest(r).nonce).toString('hex'), r.byteLength]));
  const { replies, stats } = await burst(server, requests);
  for (const reply of replies) {
    const size = sizeOf.get(nonceOf(reply));
    assert.ok(
      size !== undefined && reply.byteLength <= size,
      `a ${reply.byteLength}-byte reply to a ${size}-byte request`,
    );
  }
  assert.ok(replies.length > 0);
  assert.ok((stats.dropped['reply_too_large'] ?? 0) > 0, `the limit was reached: ${JSON.stringify(stats.dropped)}`);
  console.log(`answered ${replies.length} of ${requests.length}; dropped ${JSON.stringify(stats.dropped)}`);
});
