/**
 * The client against a man in the middle on loopback: a proxy between it and an honest test
 * server replays old answers, answers from another port, answers late or twice. None of these may
 * yield a time the server did not sign for this very request.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SaturnError } from '../../src/errors.js';
import { queryChain, queryServer } from '../../src/roughtime/client.js';
import { startTestServer, testClock, type TestServer } from './test-server.js';

type Reply = (reply: Buffer, send: (packet: Buffer, from?: Socket) => void, n: number) => void;

interface Proxy {
  readonly port: number;
  readonly replies: Buffer[];
  /** Requests the proxy received from the client. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/** Forwards each request to `upstream` and hands its reply to `onReply` (n: 1-based request count). */
async function startProxy(upstream: TestServer, onReply: Reply): Promise<Proxy> {
  const front = createSocket('udp4');
  const side = createSocket('udp4');
  const replies: Buffer[] = [];
  let requests = 0;
  await Promise.all([
    new Promise<void>((ok) => front.bind(0, '127.0.0.1', ok)),
    new Promise<void>((ok) => side.bind(0, '127.0.0.1', ok)),
  ]);
  front.on('message', (request, client) => {
    const n = ++requests;
    const back = createSocket('udp4');
    back.on('message', (reply) => {
      back.close();
      replies.push(reply);
      onReply(reply, (packet, from = front) => from.send(packet, client.port, client.address), n);
    });
    back.send(request, upstream.port, '127.0.0.1');
  });
  return {
    port: (front.address() as AddressInfo).port,
    replies,
    requests: () => requests,
    close: async () => {
      await Promise.all([new Promise<void>((ok) => front.close(ok)), new Promise<void>((ok) => side.close(ok))]);
    },
  };
}

function through(upstream: TestServer, proxy: Proxy) {
  return { ...upstream.server, port: proxy.port };
}

test('a replayed old answer (valid signature, another nonce) is rejected every time: no time, a typed error', async () => {
  const honest = await startTestServer({ seed: 51 });
  let old: Buffer | undefined;
  const proxy = await startProxy(honest, (reply, send) => send(old ?? reply));
  try {
    const server = through(honest, proxy);
    const first = await queryServer(server, { clock: testClock(), backoff: { initialMs: 2000 } });
    old = proxy.replies[0];
    assert.equal(first.attempts, 1);
    await assert.rejects(
      queryServer(server, { clock: testClock(), attempts: 4, backoff: { initialMs: 2000 } }),
      (error: unknown) =>
        error instanceof SaturnError &&
        error.code === 'SATURN_ERR_RT_TIMEOUT' &&
        /rejected 4 invalid answer\(s\), last: .*nonce/i.test(error.message),
    );
  } finally {
    await proxy.close();
    await honest.close();
  }
});

test('an answer from another port of the same host is ignored; the one from the server is taken', async () => {
  const honest = await startTestServer({ seed: 52 });
  const stranger = createSocket('udp4');
  await new Promise<void>((ok) => stranger.bind(0, '127.0.0.1', ok));
  // Request 1 is answered only from another port; request 2 from the server's own.
  const proxy = await startProxy(honest, (reply, send, n) => send(reply, n === 1 ? stranger : undefined));
  try {
    const answer = await queryServer(through(honest, proxy), {
      clock: testClock(),
      attempts: 3,
      backoff: { initialMs: 300 },
    });
    assert.equal(answer.attempts, 2, 'the first answer, from another port, was not taken');
    assert.deepEqual(answer.rejected, [], 'not even looked at');
  } finally {
    stranger.close();
    await proxy.close();
    await honest.close();
  }
});

test('an answer held past the timeout is accepted with the round trip of its own request, so it never narrows the interval', async () => {
  const honest = await startTestServer({ seed: 53 });
  let held: ((packet: Buffer) => void) | undefined;
  let heldReply: Buffer | undefined;
  // The answer to request 1 is held until request 2 (sent after the 300 ms timeout) arrives, then
  // sent; request 2's answer is dropped.
  const proxy = await startProxy(honest, (reply, send, n) => {
    if (n === 1) {
      heldReply = reply;
      held = send;
    } else held?.(heldReply!);
  });
  try {
    const answer = await queryServer(through(honest, proxy), {
      clock: testClock(),
      attempts: 3,
      backoff: { initialMs: 300 },
    });
    assert.equal(answer.attempts, 2);
    assert.ok(answer.rttNs >= 300e6, `rtt ${answer.rttNs} ns covers the wait since request 1`);
    assert.ok(answer.uncertaintyNs >= 1e9 + answer.rttNs / 2);
    assert.equal(answer.withinInterval, true);
  } finally {
    await proxy.close();
    await honest.close();
  }
});

test('an answer sent twice settles its query once; in a chain, the copy reaching the next query is rejected, never taken', async () => {
  const honest = await startTestServer({ seed: 54 });
  const proxy = await startProxy(honest, (reply, send) => {
    send(reply);
    send(reply);
  });
  try {
    const server = through(honest, proxy);
    // One edge for the chain: the copy of the first answer may arrive while the second query waits.
    const outcome = await queryChain([server, server, server], { clock: testClock(), backoff: { initialMs: 2000 } });
    assert.equal(outcome.failures.length, 0);
    assert.equal(outcome.answers.length, 3);
    assert.equal(outcome.contradictions.length, 0);
    const requests = new Set(outcome.answers.map((a) => Buffer.from(a.request).toString('hex')));
    assert.equal(requests.size, 3, 'each answer is to its own request');
    assert.ok(outcome.answers.every((a) => a.withinInterval));
  } finally {
    await proxy.close();
    await honest.close();
  }
});
