import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverId, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { buildRequest, decodeRequest, type AcceptedRequest } from '../../src/roughtime/request.js';
import { buildResponses, createDelegation, respondToBatch } from '../../src/roughtime/respond.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import { ALL_IETF_VERSIONS, familyOf, type WireVersion } from '../../src/roughtime/versions.js';
import { cloudflareVectors, vectorsDir } from './vectors.js';

test('the responder reproduces every Cloudflare reply byte for byte', (t) => {
  const dir = vectorsDir();
  let same = 0;
  for (const vector of cloudflareVectors(dir)) {
    const delegation = createDelegation({
      longTermKey: signingKeyFromSeed(vector.rootSeed),
      onlineKey: signingKeyFromSeed(vector.onlineSeed),
      mintNs: 0n,
      maxtNs: 100_000_000_000n,
    });
    const requests: AcceptedRequest[] = vector.requests.map((packet) => {
      const decoded = decodeRequest(packet);
      const version: WireVersion = decoded.offered === 'google' ? 'google' : decoded.offered[0]!;
      return { version, family: familyOf(version)!, nonce: decoded.nonce, leafInput: decoded.nonce };
    });
    const responses = buildResponses(requests, delegation, { midpNs: 50_000_000_000n, radiNs: 5e9 }, []);
    responses.forEach((response, i) => {
      assert.equal(
        Buffer.from(response).toString('hex'),
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
  const delegation = createDelegation({
    longTermKey,
    onlineKey: signingKeyFromSeed(new Uint8Array(32).fill(0x32)),
    mintNs: 1_000n * 1_000_000_000n,
    maxtNs: 3_000_000_000n * 1_000_000_000n,
  });
  const config = {
    versions: [...ALL_IETF_VERSIONS, 'google'] as WireVersion[],
    serverIds: [serverId(longTermKey.publicKey)],
    delegation,
  };
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
  ];
  const outcomes = respondToBatch(packets, config, { midpNs: 1_750_000_000_123_456_789n, radiNs: 1.5e9 });
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
    verifyResponse({
      request: packets[0]!,
      response: (outcomes[3] as { response: Uint8Array }).response,
      publicKey: longTermKey.publicKey,
    }).valid,
    false,
  );
});

test('buildResponses refuses a time outside the delegation window', () => {
  const key = signingKeyFromSeed(new Uint8Array(32).fill(0x41));
  const delegation = createDelegation({ longTermKey: key, onlineKey: key, mintNs: 10n, maxtNs: 20n });
  assert.throws(() => buildResponses([], delegation, { midpNs: 30n, radiNs: 1 }, [1]), RangeError);
  assert.throws(() => createDelegation({ longTermKey: key, onlineKey: key, mintNs: 20n, maxtNs: 10n }), RangeError);
});
