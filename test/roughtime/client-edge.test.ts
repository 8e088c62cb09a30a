import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { SystemClock } from '../../src/clock/system-clock.js';
import { signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { RoughtimeClientEdge } from '../../src/roughtime/client-edge.js';
import { buildRequest } from '../../src/roughtime/request.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import { decodeVerdict, decodeVerifyJob, encodeVerdict, encodeVerifyJob } from '../../src/roughtime/verify-worker.js';
import { localResponder, replyOf } from './responder.js';

const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x71));
const responder = localResponder({
  longTermKey,
  onlineSeed: new Uint8Array(32).fill(0x72),
  mintNs: 0n,
  maxtNs: 2n ** 62n,
});
const request = buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(3) });
const response = replyOf(responder.respond([request], { midpNs: 1_760_000_000_000_000_000n, radiNs: 1e9 })[0]);

test('verification jobs: the candidate and the verdict cross threads intact (uint64 fields exact)', () => {
  const job = { request, response, publicKey: longTermKey.publicKey };
  const decoded = decodeVerifyJob(encodeVerifyJob(job))!;
  assert.deepEqual([decoded.request, decoded.response, decoded.publicKey], [request, response, job.publicKey]);
  assert.equal(decodeVerifyJob(new Uint8Array([255, 255, 0, 0, 1, 2, 3, 4])), undefined);
  const verdict = verifyResponse(job);
  assert.deepEqual(decodeVerdict(encodeVerdict(verdict)), verdict);
  assert.ok(encodeVerdict(verdict).byteLength < encodeVerifyJob(job).byteLength, 'a verdict fits in its job');
});

test('the edge verifies on its worker thread, sends stamped at the socket, and hands on every datagram received', async () => {
  const clock = new SystemClock();
  const edge = await RoughtimeClientEdge.open(clock);
  const peer = createSocket('udp4');
  try {
    const [good, forged] = await edge.verify([
      { request, response, publicKey: longTermKey.publicKey },
      { request, response, publicKey: signingKeyFromSeed(new Uint8Array(32).fill(9)).publicKey },
    ]);
    assert.equal(good!.valid, true);
    assert.equal(good!.midpNs, 1_760_000_000_000_000_000n);
    assert.equal(forged!.valid, false);
    assert.equal(forged!.reason, 'the delegation is not signed by the long-term key');

    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const echoed = new Promise<{ at: bigint; text: string }>((resolve) => {
      const stop = edge.listen((datagram, _from, receivedAt) => {
        stop();
        resolve({ at: receivedAt.mono, text: Buffer.from(datagram).toString() });
      });
    });
    peer.on('message', (message, from) => peer.send(message, from.port, from.address));
    await edge.ready('udp4');
    const before = clock.monotonic();
    const { sent, sentAt } = edge.send('udp4', { address: '127.0.0.1', port: peer.address().port }, request);
    assert.equal(sent, true);
    assert.ok(sentAt.mono >= before);
    const { at, text } = await echoed;
    assert.ok(at >= sentAt.mono, 'received after it was sent, both stamped at the edge');
    assert.equal(text, Buffer.from(request).toString());
  } finally {
    peer.close();
    await edge.close();
  }
});
