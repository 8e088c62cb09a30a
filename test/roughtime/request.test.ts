import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { serverId, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { frame, unframe } from '../../src/roughtime/frame.js';
import { RtMessage, encodeMessage, u32le, u32listLe } from '../../src/roughtime/message.js';
import { buildRequest, decodeRequest, judgeRequest, type AcceptPolicy } from '../../src/roughtime/request.js';
import { Tag } from '../../src/roughtime/tags.js';
import { ALL_IETF_VERSIONS } from '../../src/roughtime/versions.js';
import { ROUGHENOUGH_PUBLIC_KEY, roughenoughVector, vectorsDir } from './vectors.js';

const nonce32 = new Uint8Array(32).fill(0xab);
const key = signingKeyFromSeed(new Uint8Array(32).fill(1));

/** The accepted request, failing the test if it was refused. */
function accepted(packet: Uint8Array, policy: AcceptPolicy) {
  const verdict = judgeRequest(packet, policy);
  assert.ok(verdict.accepted, verdict.accepted ? undefined : verdict.reason);
  return verdict;
}

/** `accepted`, or the code a request is refused with. */
function codeOf(packet: Uint8Array, policy: AcceptPolicy): string {
  const verdict = judgeRequest(packet, policy);
  return verdict.accepted ? 'accepted' : verdict.code;
}

test('an IETF request: ascending VER, NONC, TYPE=0, SRV, padded to a 1024-byte message', () => {
  const packet = buildRequest({
    versions: [0x8000000c, 1, 0x8000000b, 1],
    nonce: nonce32,
    serverPublicKey: key.publicKey,
  });
  assert.equal(packet.byteLength, 1036);
  const message = RtMessage.parse(unframe(packet));
  assert.equal(unframe(packet).byteLength, 1024);
  assert.deepEqual(message.tags, [Tag.VER, Tag.SRV, Tag.NONC, Tag.TYPE, Tag.ZZZZ]);
  assert.deepEqual(message.u32List(Tag.VER), [1, 0x8000000b, 0x8000000c]);
  assert.equal(message.u32(Tag.TYPE), 0);
  assert.deepEqual(message.require(Tag.SRV), serverId(key.publicKey));
  assert.ok(message.require(Tag.ZZZZ).every((b) => b === 0));
  const decoded = decodeRequest(packet);
  assert.deepEqual(decoded.nonce, nonce32);
  assert.deepEqual(decoded.offered, [1, 0x8000000b, 0x8000000c]);
});

test('a Google request: bare message of 1024 bytes with NONC and PAD', () => {
  const packet = buildRequest({ versions: 'google', nonce: new Uint8Array(64).fill(9) });
  assert.equal(packet.byteLength, 1024);
  const message = RtMessage.parse(packet);
  assert.deepEqual(message.tags, [Tag.NONC, Tag.PAD]);
  assert.equal(decodeRequest(packet).offered, 'google');
});

test('buildRequest refuses bad options', () => {
  assert.throws(() => buildRequest({ versions: [], nonce: nonce32 }), RangeError);
  assert.throws(
    () => buildRequest({ versions: Array.from({ length: 33 }, (_, i) => i + 1), nonce: nonce32 }),
    RangeError,
  );
  assert.throws(() => buildRequest({ versions: [1], nonce: new Uint8Array(64) }), RangeError);
  assert.throws(() => buildRequest({ versions: 'google', nonce: nonce32 }), RangeError);
  assert.throws(() => buildRequest({ versions: [-1], nonce: nonce32 }), RangeError);
});

test("roughenough's request with SRV decodes, and a server answers it only if it holds that key", (t) => {
  const dir = vectorsDir();
  const packet = roughenoughVector(dir, 'rfc-request.SRV.417aa962.hex');
  const request = decodeRequest(packet);
  assert.equal(Buffer.from(request.nonce.subarray(0, 4)).toString('hex'), '417aa962');
  assert.equal(request.serverId?.byteLength, 32);
  assert.equal(accepted(packet, { versions: [0x8000000c], serverIds: [request.serverId!] }).version, 0x8000000c);
  assert.equal(
    codeOf(packet, { versions: [0x8000000c], serverIds: [serverId(ROUGHENOUGH_PUBLIC_KEY)] }),
    'SATURN_ERR_RT_WRONG_SRV',
  );
});

test('SRV is SHA-512(0xff ‖ key) truncated to 32 bytes, not SHA-512/256', () => {
  const expected = createHash('sha512')
    .update(Buffer.from([0xff]))
    .update(key.publicKey)
    .digest()
    .subarray(0, 32);
  assert.deepEqual(Buffer.from(serverId(key.publicKey)), expected);
  assert.notDeepEqual(
    Buffer.from(serverId(key.publicKey)),
    createHash('sha512-256')
      .update(Buffer.from([0xff]))
      .update(key.publicKey)
      .digest(),
  );
});

test('judgeRequest picks the most preferred common version, whatever order VER is in', () => {
  const policy = { versions: [...ALL_IETF_VERSIONS, 'google' as const], serverIds: [serverId(key.publicKey)] };
  const descending = frame(
    encodeMessage([
      [Tag.VER, u32listLe([0x8000000c, 0x8000000b, 1])],
      [Tag.NONC, nonce32],
      [Tag.TYPE, u32le(0)],
      [Tag.ZZZZ, new Uint8Array(1024)],
    ]),
  );
  assert.equal(accepted(descending, policy).version, 1);
  const newest = accepted(buildRequest({ versions: [0x8000000b, 0x8000000c], nonce: nonce32 }), policy);
  assert.equal(newest.version, 0x8000000c);
  assert.equal(newest.leafInput.byteLength, 1036);
  const draft = accepted(buildRequest({ versions: [0x80000008], nonce: nonce32 }), policy);
  assert.deepEqual(draft.leafInput, nonce32);
  assert.equal(accepted(buildRequest({ versions: 'google', nonce: new Uint8Array(64) }), policy).version, 'google');
});

test('judgeRequest refuses what a server must not answer, with the reason as the code, and never throws', () => {
  const policy = { versions: [1, 0x8000000c], serverIds: [serverId(key.publicKey)] };
  const code = (packet: Uint8Array, p: AcceptPolicy = policy): string => codeOf(packet, p);
  assert.equal(code(buildRequest({ versions: [1], nonce: nonce32 }).subarray(0, 1000)), 'SATURN_ERR_RT_SHORT');
  assert.equal(code(buildRequest({ versions: [0x8000000b], nonce: nonce32 })), 'SATURN_ERR_RT_VERSION');
  assert.equal(code(buildRequest({ versions: 'google', nonce: new Uint8Array(64) })), 'SATURN_ERR_RT_VERSION');
  assert.equal(
    code(buildRequest({ versions: [1], nonce: nonce32, serverPublicKey: new Uint8Array(32) })),
    'SATURN_ERR_RT_WRONG_SRV',
  );
  assert.equal(
    code(buildRequest({ versions: [1], nonce: nonce32 }), {
      ...policy,
      serverIds: [new Uint8Array(32), serverId(key.publicKey)],
    }),
    'SATURN_ERR_RT_WRONG_SRV',
  );
  assert.equal(code(buildRequest({ versions: [1], nonce: nonce32, serverPublicKey: key.publicKey })), 'accepted');
  const noType = frame(
    encodeMessage([
      [Tag.VER, u32listLe([1])],
      [Tag.NONC, nonce32],
      [Tag.ZZZZ, new Uint8Array(1024)],
    ]),
  );
  assert.equal(code(noType), 'SATURN_ERR_RT_MALFORMED');
  const badType = frame(
    encodeMessage([
      [Tag.VER, u32listLe([1])],
      [Tag.NONC, nonce32],
      [Tag.TYPE, u32le(1)],
      [Tag.ZZZZ, new Uint8Array(1024)],
    ]),
  );
  assert.equal(code(badType), 'SATURN_ERR_RT_MALFORMED');
  assert.equal(code(new Uint8Array(1100)), 'SATURN_ERR_RT_MALFORMED');
});
