/**
 * Random and mutated bytes against the codec, request reader and validator: every outcome is a
 * value or a SaturnError, nothing else escapes, and each run finishes quickly (no hang).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SaturnError } from '../../src/errors.js';
import { serverId, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { frame, unframe } from '../../src/roughtime/frame.js';
import { RtMessage, encodeMessage } from '../../src/roughtime/message.js';
import { buildRequest, decodeRequest, judgeRequest } from '../../src/roughtime/request.js';
import { Tag } from '../../src/roughtime/tags.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import type { WireVersion } from '../../src/roughtime/versions.js';
import { localResponder, replyOf } from './responder.js';

const onlySaturnErrors = (fn: () => unknown): void => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SaturnError, `escaped: ${String(error)}`);
  }
};

const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x61));
const policy = {
  versions: [1, 0x8000000c, 0x8000000b, 'google'] as WireVersion[],
  serverIds: [serverId(longTermKey.publicKey)],
};
// The responder the server runs in its workers.
const responder = localResponder({
  longTermKey,
  onlineSeed: new Uint8Array(32).fill(0x62),
  mintNs: 0n,
  maxtNs: 2n ** 62n,
  ...policy,
});
const seeds = [
  buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(1) }),
  buildRequest({ versions: [0x8000000b], nonce: new Uint8Array(32).fill(2) }),
  buildRequest({ versions: 'google', nonce: new Uint8Array(64).fill(3) }),
];
const batch = responder.respond([...seeds, buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(4) })], {
  midpNs: 1_760_000_000_000_000_000n,
  radiNs: 1e9,
});
const valid = seeds.map((request, i) => ({ request, response: replyOf(batch[i]) }));

/** A structurally plausible message: random tags (often known ones) and 4-byte-aligned values. */
const messageArb = fc
  .uniqueArray(fc.oneof(fc.constantFrom(...Object.values(Tag)), fc.integer({ min: 0, max: 0xffffffff })), {
    maxLength: 12,
  })
  .chain((tags) =>
    fc.tuple(
      ...tags.map((tag) =>
        fc.tuple(
          fc.constant(tag),
          fc.uint8Array({ maxLength: 24 }).map((b) => b.subarray(0, b.length - (b.length % 4))),
        ),
      ),
    ),
  )
  .map((fields) => encodeMessage(fields as Array<[number, Uint8Array]>));

const mutate = (bytes: Uint8Array) =>
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), {
      minLength: 1,
      maxLength: 8,
    })
    .map((edits) => {
      let out = new Uint8Array(bytes);
      for (const [at, value, kind] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (kind === 'set' && out.length > 0) out[i] = value;
        else if (kind === 'cut') out = out.subarray(0, i);
        else out = new Uint8Array([...out.subarray(0, i), value, 0, 0, 0, ...out.subarray(i)]);
      }
      return out;
    });

test('the codec: random bytes, random messages and nested reads never throw anything but SaturnError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      onlySaturnErrors(() => RtMessage.parse(bytes));
      onlySaturnErrors(() => unframe(bytes));
      onlySaturnErrors(() => decodeRequest(bytes));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(messageArb, (bytes) => {
      const message = RtMessage.parse(bytes);
      assert.equal(Buffer.compare(encodeMessage(message.tags.map((tag, i) => [tag, message.values[i]!])), bytes), 0);
      for (const tag of message.tags) {
        onlySaturnErrors(() => message.message(tag));
        onlySaturnErrors(() => message.u32(tag));
        onlySaturnErrors(() => message.u64(tag));
        onlySaturnErrors(() => message.u32List(tag));
      }
      onlySaturnErrors(() => decodeRequest(frame(bytes)));
    }),
    { numRuns: 3000 },
  );
});

test('the validator: random and mutated responses give a verdict, never an exception or a hang', () => {
  const started = performance.now();
  const verdict = (request: Uint8Array, response: Uint8Array): void => {
    const result = verifyResponse({ request, response, publicKey: longTermKey.publicKey });
    assert.equal(typeof result.valid, 'boolean');
    if (!result.valid) assert.ok(result.reason && result.code);
  };
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.uint8Array({ maxLength: 1500 }), ({ request }, response) =>
      verdict(request, response),
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...valid), messageArb, ({ request }, message) => {
      verdict(request, frame(message));
      verdict(request, message);
    }),
    { numRuns: 2000 },
  );
  for (const exchange of valid) {
    const original = verifyResponse({ ...exchange, publicKey: longTermKey.publicKey });
    fc.assert(
      fc.property(mutate(exchange.response), (response) => {
        const result = verifyResponse({ request: exchange.request, response, publicKey: longTermKey.publicKey });
        // A changed response may still verify (an undefined tag is ignored), but never says anything else.
        if (result.valid)
          assert.deepEqual(
            [result.version, result.midp, result.radi],
            [original.version, original.midp, original.radi],
          );
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(mutate(exchange.request), (request) => verdict(request, exchange.response)),
      { numRuns: 1000 },
    );
  }
  assert.ok(performance.now() - started < 60_000, 'fuzzing took over a minute');
});

test('the server side: mutated requests are answered or dropped with a code, never an exception', () => {
  for (const seed of seeds) {
    fc.assert(
      fc.property(mutate(seed), (packet) => {
        const [outcome] = responder.respond([packet], { midpNs: 1_760_000_000_000_000_000n, radiNs: 1e9 });
        assert.ok(outcome);
        if ('response' in outcome) {
          assert.ok(outcome.response.byteLength <= packet.byteLength);
          assert.equal(
            verifyResponse({ request: packet, response: outcome.response, publicKey: longTermKey.publicKey }).reason,
            null,
          );
        }
        // The server's judge returns a verdict for every packet: it never throws.
        const verdict = judgeRequest(packet, policy);
        assert.equal('response' in outcome, verdict.accepted);
        if (!verdict.accepted && 'dropped' in outcome) assert.equal(outcome.dropped, verdict.code);
      }),
      { numRuns: 1500 },
    );
  }
});
