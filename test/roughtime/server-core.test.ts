import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BatchOutput } from '../../src/pipeline/batch-codec.js';
import { signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { unframe } from '../../src/roughtime/frame.js';
import { leafHash } from '../../src/roughtime/merkle.js';
import { RtMessage } from '../../src/roughtime/message.js';
import { buildRequest } from '../../src/roughtime/request.js';
import { BatchResponder } from '../../src/roughtime/server-core.js';
import { Tag } from '../../src/roughtime/tags.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import { ALL_IETF_VERSIONS, familyOf, type VersionFamily, type WireVersion } from '../../src/roughtime/versions.js';
import { buildTree } from './merkle-oracle.js';
import { localResponder, replyOf } from './responder.js';
import { cloudflareVectors, vectorsDir } from './vectors.js';

test('the production responder reproduces every Cloudflare reply byte for byte', () => {
  let same = 0;
  for (const vector of cloudflareVectors(vectorsDir())) {
    const responder = localResponder({
      longTermKey: signingKeyFromSeed(vector.rootSeed),
      onlineSeed: vector.onlineSeed,
      mintNs: 0n,
      maxtNs: 100_000_000_000n,
    });
    const outcomes = responder.respond(vector.requests, { midpNs: 50_000_000_000n, radiNs: 5e9 });
    outcomes.forEach((outcome, i) => {
      assert.equal(
        Buffer.from(replyOf(outcome)).toString('hex'),
        Buffer.from(vector.replies[i]!).toString('hex'),
        `${vector.file} #${i}`,
      );
      same++;
    });
  }
  assert.equal(same, 333);
});

test('a mixed batch: one tree per version, every response verifies, drops carry their reason', () => {
  const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x31));
  const responder = localResponder({
    longTermKey,
    onlineSeed: new Uint8Array(32).fill(0x32),
    mintNs: 1_000n * 1_000_000_000n,
    maxtNs: 3_000_000_000n * 1_000_000_000n,
  });
  const nonce = (i: number, bytes = 32): Uint8Array => new Uint8Array(bytes).fill(i);
  const packets = [
    buildRequest({ versions: [1], nonce: nonce(1), serverPublicKey: longTermKey.publicKey }),
    buildRequest({ versions: 'google', nonce: nonce(2, 64) }),
    buildRequest({ versions: [0x8000000c], nonce: nonce(3) }),
    buildRequest({ versions: [1, 0x8000000c], nonce: nonce(4) }),
    buildRequest({ versions: [0x80000008], nonce: nonce(5) }),
    buildRequest({ versions: [1], nonce: nonce(6) }).subarray(0, 512),
    buildRequest({ versions: [1], nonce: nonce(7), serverPublicKey: new Uint8Array(32) }),
    buildRequest({ versions: [0x8000000c], nonce: nonce(8) }),
    buildRequest({ versions: [1], nonce: nonce(9) }),
    new Uint8Array(1100),
  ];
  const outcomes = responder.respond(packets, { midpNs: 1_750_000_000_123_456_789n, radiNs: 1.5e9 });
  const dropped = outcomes.map((o) => ('dropped' in o ? o.dropped : null));
  assert.deepEqual(dropped, [
    null,
    null,
    null,
    null,
    null,
    'SATURN_ERR_RT_SHORT',
    'SATURN_ERR_RT_WRONG_SRV',
    null,
    null,
    'SATURN_ERR_RT_MALFORMED',
  ]);
  outcomes.forEach((outcome, i) => {
    if (!('response' in outcome)) return;
    assert.ok(outcome.response.byteLength <= packets[i]!.byteLength);
    const result = verifyResponse({
      request: packets[i]!,
      response: outcome.response,
      publicKey: longTermKey.publicKey,
    });
    assert.equal(result.reason, null, `request ${i}`);
    assert.equal(result.midpNs, i === 1 ? 1_750_000_000_123_456_000n : 1_750_000_000_000_000_000n);
    assert.equal(result.radi, i === 1 ? 1_500_000 : 2);
  });
  assert.equal(
    verifyResponse({ request: packets[0]!, response: replyOf(outcomes[3]), publicKey: longTermKey.publicKey }).valid,
    false,
  );
});

/** Asserts that `reply`'s PATH and ROOT are the oracle tree's for `leaf`; returns the parsed reply. */
function matchOracle(
  family: VersionFamily,
  reply: Uint8Array,
  oracle: ReturnType<typeof buildTree>,
  leaf: number,
): RtMessage {
  const top = RtMessage.parse(family.framed ? unframe(reply) : reply);
  assert.deepEqual(top.require(Tag.PATH), oracle.paths[leaf]);
  assert.deepEqual(top.message(Tag.SREP).require(Tag.ROOT), oracle.root);
  return top;
}

test('differential: ROOT, PATH and INDX of every reply equal the straightforward tree builder on random batches', () => {
  const responder = localResponder({
    longTermKey: signingKeyFromSeed(new Uint8Array(32).fill(0x33)),
    onlineSeed: new Uint8Array(32).fill(0x34),
    mintNs: 0n,
    maxtNs: 2n ** 62n,
  });
  const versionArb = fc.constantFrom<WireVersion>(1, 0x8000000c, 0x8000000b, 'google');
  fc.assert(
    fc.property(fc.array(fc.tuple(versionArb, fc.nat()), { minLength: 1, maxLength: 70 }), (shape) => {
      const packets = shape.map(([version, seed]) =>
        version === 'google'
          ? buildRequest({ versions: 'google', nonce: new Uint8Array(64).fill(seed % 256) })
          : buildRequest({ versions: [version], nonce: new Uint8Array(32).fill(seed % 256) }),
      );
      const outcomes = responder.respond(packets, { midpNs: 1_760_000_000_000_000_000n, radiNs: 1e9 });
      for (const version of new Set(shape.map(([v]) => v))) {
        const family = familyOf(version)!;
        const members = shape.flatMap(([v], i) => (v === version ? [i] : []));
        const leaves = members.map((i) => {
          const message = RtMessage.parse(family.framed ? unframe(packets[i]!) : packets[i]!);
          return leafHash(family.hashBytes, family.leafInput === 'nonce' ? message.require(Tag.NONC) : packets[i]!);
        });
        const oracle = buildTree(family.hashBytes, leaves);
        members.forEach((i, leaf) =>
          assert.equal(matchOracle(family, replyOf(outcomes[i]), oracle, leaf).u32(Tag.INDX), leaf),
        );
      }
    }),
    { numRuns: 150 },
  );
});

test('a time outside every delegated window is a programming error (RangeError), not a reply', () => {
  const responder = localResponder({
    longTermKey: signingKeyFromSeed(new Uint8Array(32).fill(0x41)),
    onlineSeed: new Uint8Array(32).fill(0x42),
    mintNs: 10n,
    maxtNs: 20n,
  });
  const direct = new BatchResponder({ versions: [...ALL_IETF_VERSIONS], serverIds: [] }, responder.delegation);
  assert.throws(
    () => direct.respond([], { midpNs: 30n, radiNs: 1 }, new BatchOutput([])),
    (e: unknown) => e instanceof RangeError && /MIDP 30/.test(e.message),
  );
});

test('large batches (the tree outgrows the hash module memory it started with) still match the oracle', () => {
  const responder = localResponder({
    longTermKey: signingKeyFromSeed(new Uint8Array(32).fill(0x35)),
    onlineSeed: new Uint8Array(32).fill(0x36),
    mintNs: 0n,
    maxtNs: 2n ** 62n,
  });
  for (const [version, size] of [
    [0x8000000b, 1000],
    ['google', 400],
  ] as const) {
    const family = familyOf(version)!;
    const nonces = Array.from({ length: size }, (_, i) =>
      new Uint8Array(family.nonceBytes).fill(i % 256).fill(i >> 8, 0, 2),
    );
    const packets = nonces.map((nonce) =>
      buildRequest({ versions: version === 'google' ? 'google' : [version], nonce }),
    );
    const outcomes = responder.respond(packets, { midpNs: 1_760_000_000_000_000_000n, radiNs: 1e9 });
    const oracle = buildTree(
      family.hashBytes,
      nonces.map((nonce) => leafHash(family.hashBytes, nonce)),
    );
    for (const leaf of [0, 1, size - 2, size - 1]) matchOracle(family, replyOf(outcomes[leaf]), oracle, leaf);
  }
});
