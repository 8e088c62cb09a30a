import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ed25519PublicKey, signMessage, signingKeyFromSeed, verifySignature } from '../../src/roughtime/crypto.js';
import { frame, unframe } from '../../src/roughtime/frame.js';
import { RtMessage, encodeMessage, u32le, u32listLe } from '../../src/roughtime/message.js';
import { buildRequest } from '../../src/roughtime/request.js';
import { Tag, tagValue } from '../../src/roughtime/tags.js';
import { verifyResponse } from '../../src/roughtime/verify.js';
import { DRAFT_12, GOOGLE, type WireVersion } from '../../src/roughtime/versions.js';
import {
  ROUGHENOUGH_PUBLIC_KEY,
  b64,
  cloudflareVectors,
  draft19Report,
  roughenoughVector,
  vectorsDir,
} from './vectors.js';
import { localResponder, replyOf } from './responder.js';

test('every Cloudflare vector verifies (Google, draft-08, draft-11; batches of 1, 10, 100)', (t) => {
  const dir = vectorsDir();
  const vectors = cloudflareVectors(dir);
  assert.equal(vectors.length, 9);
  let checked = 0;
  for (const vector of vectors) {
    const publicKey = signingKeyFromSeed(vector.rootSeed).publicKey;
    const google = vector.info.startsWith('Google');
    vector.requests.forEach((request, i) => {
      const result = verifyResponse({ request, response: vector.replies[i]!, publicKey });
      assert.equal(result.reason, null, `${vector.file} #${i}`);
      assert.equal(result.valid, true);
      assert.equal(result.version, google ? 'google' : vector.info.includes('-08') ? '0x80000008' : '0x8000000b');
      assert.equal(result.midpNs, 50_000_000_000n);
      assert.equal(result.radiNs, 5_000_000_000);
      assert.equal(result.midp, google ? 50_000_000n : 50n);
      assert.equal(result.maxt, google ? 100_000_000n : 100n);
      checked++;
    });
  }
  assert.equal(checked, 333);
  t.diagnostic(`verified ${checked} Cloudflare replies`);
});

test('roughenough 0x8000000c pair verifies', (t) => {
  const dir = vectorsDir();
  const result = verifyResponse({
    request: roughenoughVector(dir, 'rfc-request.071039e5.hex'),
    response: roughenoughVector(dir, 'rfc-response.071039e5.hex'),
    publicKey: ROUGHENOUGH_PUBLIC_KEY,
  });
  assert.deepEqual(
    {
      valid: result.valid,
      version: result.version,
      midp: result.midp,
      radi: result.radi,
      mint: result.mint,
      maxt: result.maxt,
      reason: result.reason,
    },
    { valid: true, version: '0x8000000c', midp: 1747944450n, radi: 5, mint: 0n, maxt: 2n ** 64n - 1n, reason: null },
  );
  assert.equal(new Date(Number(result.midpNs! / 1_000_000n)).toISOString(), '2025-05-22T20:07:30.000Z');
});

test('roughenough path8 response: SREP is signed by its delegated key; without its request the path cannot be checked', (t) => {
  const dir = vectorsDir();
  const packet = roughenoughVector(dir, 'rfc-response.path8.index2.4c16c619.hex');
  const top = RtMessage.parse(unframe(packet));
  assert.equal(top.u32(Tag.INDX), 2);
  assert.equal(top.require(Tag.PATH).byteLength, 8 * 32);
  const cert = top.message(Tag.CERT);
  // Its delegation comes from a long-term key other than the published one.
  assert.equal(
    verifySignature(
      ed25519PublicKey(ROUGHENOUGH_PUBLIC_KEY),
      DRAFT_12.delegationContext,
      cert.require(Tag.DELE),
      cert.require(Tag.SIG),
    ),
    false,
  );
  const onlineKey = ed25519PublicKey(cert.message(Tag.DELE).require(Tag.PUBK));
  assert.ok(verifySignature(onlineKey, DRAFT_12.responseContext, top.require(Tag.SREP), top.require(Tag.SIG)));
  // A request we rebuild with its nonce is not the packet roughenough hashed: the leaf covers the whole request.
  const rebuilt = buildRequest({ versions: [0x8000000c], nonce: top.require(Tag.NONC) });
  const result = verifyResponse({ request: rebuilt, response: packet, publicKey: ROUGHENOUGH_PUBLIC_KEY });
  assert.equal(result.valid, false);
  assert.equal(result.reason, 'the Merkle path does not lead to SREP ROOT');
});

test('roughenough golden response parses but its placeholder signatures are rejected', (t) => {
  const dir = vectorsDir();
  const packet = roughenoughVector(dir, 'golden-response.phase8.hex');
  const nonce = RtMessage.parse(unframe(packet)).require(Tag.NONC);
  const result = verifyResponse({
    request: buildRequest({ versions: [0x8000000c], nonce }),
    response: packet,
    publicKey: ROUGHENOUGH_PUBLIC_KEY,
  });
  assert.equal(result.valid, false);
  assert.equal(result.code, 'SATURN_ERR_RT_INVALID');
});

test('the three RFC version-1 exchanges of the draft-19 report verify', (t) => {
  const dir = vectorsDir();
  const midps = draft19Report(dir).responses.map((entry) => {
    const result = verifyResponse({
      request: b64(entry.request),
      response: b64(entry.response),
      publicKey: b64(entry.publicKey),
    });
    assert.equal(result.reason, null);
    assert.equal(result.version, '1');
    assert.equal(result.radi, 3);
    return result.midp;
  });
  assert.deepEqual(midps, [1773685571n, 1773599171n, 1773599171n]);
});

test('wrong key, wrong nonce and a version not offered are rejected with reasons', (t) => {
  const dir = vectorsDir();
  const request = roughenoughVector(dir, 'rfc-request.071039e5.hex');
  const response = roughenoughVector(dir, 'rfc-response.071039e5.hex');
  const otherKey = signingKeyFromSeed(new Uint8Array(32).fill(3)).publicKey;
  assert.equal(
    verifyResponse({ request, response, publicKey: otherKey }).reason,
    'the delegation is not signed by the long-term key',
  );
  const otherNonce = buildRequest({ versions: [0x8000000c], nonce: new Uint8Array(32) });
  assert.equal(
    verifyResponse({ request: otherNonce, response, publicKey: ROUGHENOUGH_PUBLIC_KEY }).reason,
    'NONC does not echo the request nonce',
  );
  const nonce = RtMessage.parse(unframe(request)).require(Tag.NONC);
  const notOffered = buildRequest({ versions: [1], nonce });
  assert.equal(
    verifyResponse({ request: notOffered, response, publicKey: ROUGHENOUGH_PUBLIC_KEY }).reason,
    'response version 0x8000000c was not offered',
  );
  const garbage = verifyResponse({ request, response: new Uint8Array(7), publicKey: ROUGHENOUGH_PUBLIC_KEY });
  assert.equal(garbage.code, 'SATURN_ERR_RT_MALFORMED');
  const badKey = verifyResponse({ request, response, publicKey: new Uint8Array(31) });
  assert.equal(badKey.valid, false);
  assert.match(badKey.reason!, /32/);
});

// A local server identity for responses the vectors do not cover.
const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x11));
const onlineSeed = new Uint8Array(32).fill(0x22);
const onlineKey = signingKeyFromSeed(onlineSeed);
const identity = { longTermKey, onlineSeed, mintNs: 0n, maxtNs: 4_000_000_000n * 1_000_000_000n };
const responder = localResponder({
  ...identity,
  versions: [1, 0x80000008, 0x8000000b, 0x8000000c, 'google'] as WireVersion[],
});

function respond(request: Uint8Array, radiNs = 2e9, midpNs = 1_700_000_000_000_000_000n): Uint8Array {
  return replyOf(responder.respond([request], { midpNs, radiNs })[0]);
}

test('an RFC response of one entry is 416 bytes and verifies', () => {
  const local = localResponder({ ...identity, versions: [1] });
  const request = buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(5) });
  const response = replyOf(local.respond([request], { midpNs: 1_700_000_000_000_000_000n, radiNs: 2e9 })[0]);
  assert.equal(response.byteLength, 416);
  const result = verifyResponse({ request, response, publicKey: longTermKey.publicKey });
  assert.equal(result.reason, null);
  assert.equal(result.midp, 1_700_000_000n);
});

test('RADI 0xffffffff verifies but is flagged as no useful time', () => {
  const request = buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(6) });
  const result = verifyResponse({ request, response: respond(request, 1e30), publicKey: longTermKey.publicKey });
  assert.equal(result.valid, true);
  assert.equal(result.radi, 0xffffffff);
  assert.equal(result.unsynchronised, true);
});

/** Re-signs a modified SREP so only the property under test is wrong. */
function resign(request: Uint8Array, edit: (fields: Map<number, Uint8Array>) => void, family = DRAFT_12): Uint8Array {
  const response = respond(request);
  const top = RtMessage.parse(unframe(response));
  const srep = RtMessage.parse(top.require(Tag.SREP));
  const srepFields = new Map(srep.tags.map((tag, i) => [tag, srep.values[i]!] as const));
  edit(srepFields);
  const newSrep = encodeMessage([...srepFields]);
  const signature = signMessage(onlineKey, family.responseContext, newSrep);
  const fields = new Map(top.tags.map((tag, i) => [tag, top.values[i]!] as const));
  fields.set(Tag.SREP, newSrep);
  fields.set(Tag.SIG, signature);
  return frame(encodeMessage([...fields]));
}

test('signed but inconsistent responses are still rejected', () => {
  const request = buildRequest({ versions: [1, 0x8000000c], nonce: new Uint8Array(32).fill(8) });
  const check = (edit: (fields: Map<number, Uint8Array>) => void): string | null =>
    verifyResponse({ request, response: resign(request, edit), publicKey: longTermKey.publicKey }).reason;
  assert.equal(
    check(() => undefined),
    null,
  );
  assert.equal(
    check((f) => f.set(Tag.VERS, u32listLe([0x8000000c]))),
    'SREP VERS does not list the version of the response',
  );
  assert.equal(
    check((f) => f.set(Tag.VERS, u32listLe([0x8000000c, 1]))),
    'SREP VERS is not strictly ascending',
  );
  assert.equal(
    check((f) => f.set(Tag.VER, u32le(0x8000000b))),
    'response states version 0x8000000b in the wrong place',
  );
  assert.equal(
    check((f) => f.set(Tag.VER, u32le(7))),
    'response version 7 is not one this client speaks',
  );
  assert.match(
    check((f) => f.set(Tag.MIDP, new Uint8Array(8).fill(0xff)))!,
    /outside the delegation window/,
  );
  assert.equal(
    check((f) => f.set(Tag.ZZZZ, new Uint8Array(0))),
    'SREP carries unexpected tag ZZZZ',
  );
  assert.equal(
    check((f) => f.delete(Tag.VERS)),
    'SREP has no VERS',
  );
});

test('Google and draft responses from the local responder verify; a Google request gets an unframed reply', () => {
  for (const versions of ['google', [0x80000008], [0x8000000b, 0x80000008]] as const) {
    const nonce = new Uint8Array(versions === 'google' ? GOOGLE.nonceBytes : 32).fill(4);
    const request = buildRequest({ versions, nonce });
    const result = verifyResponse({ request, response: respond(request), publicKey: longTermKey.publicKey });
    assert.equal(result.reason, null, String(versions));
    assert.equal(result.midpNs, 1_700_000_000_000_000_000n);
  }
});

/** A tag no Roughtime version defines, as greasing servers send. */
const GREASE = tagValue('GRZ\x01');

/** The fields of a message, editable. */
const fieldsOf = (message: RtMessage): Map<number, Uint8Array> =>
  new Map(message.tags.map((tag, i) => [tag, message.values[i]!] as const));

/**
 * A valid response greased where the drafts allow: an undefined tag at the top level, in SREP
 * (re-signed by the online key) or in DELE (re-signed by the long-term key). A defined tag can
 * be put where it does not belong the same way.
 */
function greased(request: Uint8Array, where: 'top' | 'SREP' | 'DELE', tag = GREASE): Uint8Array {
  const top = RtMessage.parse(unframe(respond(request)));
  const fields = fieldsOf(top);
  if (where === 'top') fields.set(tag, new Uint8Array(8).fill(0x5a));
  if (where === 'SREP') {
    const srep = fieldsOf(RtMessage.parse(top.require(Tag.SREP)));
    srep.set(tag, new Uint8Array(4));
    const signed = encodeMessage([...srep]);
    fields.set(Tag.SREP, signed);
    fields.set(Tag.SIG, signMessage(onlineKey, DRAFT_12.responseContext, signed));
  }
  if (where === 'DELE') {
    const cert = RtMessage.parse(top.require(Tag.CERT));
    const dele = fieldsOf(RtMessage.parse(cert.require(Tag.DELE)));
    dele.set(tag, new Uint8Array(12));
    const signed = encodeMessage([...dele]);
    fields.set(
      Tag.CERT,
      encodeMessage([
        [Tag.SIG, signMessage(longTermKey, DRAFT_12.delegationContext, signed)],
        [Tag.DELE, signed],
      ]),
    );
  }
  return frame(encodeMessage([...fields]));
}

test('grease: an undefined tag at the top level, in SREP or in DELE is ignored; a defined one out of place is not', () => {
  const request = buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(0x47) });
  for (const where of ['top', 'SREP', 'DELE'] as const) {
    const result = verifyResponse({ request, response: greased(request, where), publicKey: longTermKey.publicKey });
    assert.equal(result.reason, null, `grease in ${where}`);
    assert.equal(result.midpNs, 1_700_000_000_000_000_000n);
  }
  assert.equal(
    verifyResponse({ request, response: greased(request, 'SREP', Tag.NONC), publicKey: longTermKey.publicKey }).reason,
    'SREP carries unexpected tag NONC',
  );
  assert.equal(
    verifyResponse({ request, response: greased(request, 'DELE', Tag.ROOT), publicKey: longTermKey.publicKey }).reason,
    'DELE carries unexpected tag ROOT',
  );
  // Ignoring undefined tags never excuses a missing one the version needs.
  const top = fieldsOf(RtMessage.parse(unframe(greased(request, 'top'))));
  top.delete(Tag.TYPE);
  assert.equal(
    verifyResponse({ request, response: frame(encodeMessage([...top])), publicKey: longTermKey.publicKey }).reason,
    'response has no TYPE',
  );
});
