import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { serverId, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { encodeMessage, u32le, u32listLe } from '../../src/roughtime/message.js';
import { frame } from '../../src/roughtime/frame.js';
import { RequestScanner, buildRequest, judgeRequest, type AcceptPolicy } from '../../src/roughtime/request.js';
import { Tag } from '../../src/roughtime/tags.js';
import { ALL_IETF_VERSIONS, type WireVersion } from '../../src/roughtime/versions.js';

const keyA = signingKeyFromSeed(new Uint8Array(32).fill(1)).publicKey;
const keyB = signingKeyFromSeed(new Uint8Array(32).fill(2)).publicKey;
const POLICIES: AcceptPolicy[] = [
  { versions: [...ALL_IETF_VERSIONS, 'google'], serverIds: [serverId(keyA)] },
  { versions: [1], serverIds: [serverId(keyA)] },
  { versions: [0x8000000b, 0x8000000c], serverIds: [serverId(keyA), serverId(keyB)] },
  // A version the code has no family for, preferred over the ones it has: judgeRequest refuses.
  { versions: [0x8000000b, 0x80000020], serverIds: [serverId(keyA)] },
];
const OFFERABLE = [...ALL_IETF_VERSIONS, 2, 0x80000007, 0x80000020];

/** What judgeRequest says: the error code, or version and nonce offset. */
function judge(
  packet: Uint8Array,
  policy: AcceptPolicy,
): { code: string } | { version: WireVersion; family: string; nonceAt: number; leafIsPacket: boolean } {
  const r = judgeRequest(packet, policy);
  if (!r.accepted) return { code: r.code };
  return {
    version: r.version,
    family: r.family.id,
    nonceAt: r.nonce.byteOffset - packet.byteOffset,
    leafIsPacket: r.leafInput === packet,
  };
}

/** Checks the scanner against judgeRequest: when it says yes, judgeRequest says the same yes. */
function agree(scanner: RequestScanner, packet: Uint8Array, policy: AcceptPolicy): boolean {
  const fast = scanner.scan(packet);
  const slow = judge(packet, policy);
  if (fast) {
    assert.deepEqual(slow, {
      version: scanner.version,
      family: scanner.family.id,
      nonceAt: scanner.nonceAt,
      leafIsPacket: scanner.family.leafInput === 'request-packet',
    });
  }
  return fast;
}

/** A request, optionally with extra tags, TYPE values and SRV choices buildRequest does not make. */
const requestArb = fc.record({
  versions: fc.uniqueArray(fc.constantFrom(...OFFERABLE), { minLength: 1, maxLength: 6 }),
  descending: fc.boolean(),
  nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  srv: fc.constantFrom('none', 'a', 'b', 'junk'),
  type: fc.constantFrom<'none' | number>('none', 0, 0, 1),
  extraTags: fc.integer({ min: 0, max: 20 }),
});

type RequestSpec = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function build(spec: RequestSpec): Uint8Array {
  const versions = [...spec.versions].sort((a, b) => (spec.descending ? b - a : a - b));
  const fields: Array<readonly [number, Uint8Array]> = [
    [Tag.VER, u32listLe(versions)],
    [Tag.NONC, spec.nonce],
  ];
  if (spec.type !== 'none') fields.push([Tag.TYPE, u32le(spec.type)]);
  if (spec.srv === 'a') fields.push([Tag.SRV, serverId(keyA)]);
  if (spec.srv === 'b') fields.push([Tag.SRV, serverId(keyB)]);
  if (spec.srv === 'junk') fields.push([Tag.SRV, new Uint8Array(32).fill(7)]);
  for (let i = 0; i < spec.extraTags; i++) fields.push([0x41414100 + i, new Uint8Array(4)]);
  const used = 8 * (fields.length + 1) + fields.reduce((sum, [, v]) => sum + v.byteLength, 0);
  return frame(encodeMessage([...fields, [Tag.ZZZZ, new Uint8Array(Math.max(0, 1024 - used))]]));
}

/** The packet as a view at `offset` into a larger buffer (as the batch codec hands them out). */
function placed(packet: Uint8Array, offset: number): Uint8Array {
  const buffer = new Uint8Array(offset + packet.byteLength + 8);
  buffer.set(packet, offset);
  return buffer.subarray(offset, offset + packet.byteLength);
}

test('the request scanner takes the fast path for ordinary requests and agrees with judgeRequest', () => {
  for (const policy of POLICIES) {
    const scanner = new RequestScanner(policy);
    for (const versions of [[1], [0x8000000b], [0x8000000c, 1], [...ALL_IETF_VERSIONS]]) {
      const packet = buildRequest({ versions, nonce: new Uint8Array(32).fill(3), serverPublicKey: keyA });
      const accepted = !('code' in judge(packet, policy));
      assert.equal(agree(scanner, packet, policy), accepted, `versions ${versions} policy ${policy.versions}`);
    }
  }
});

test('property: on random requests the scanner never says yes where judgeRequest says otherwise', () => {
  fc.assert(
    fc.property(requestArb, fc.constantFrom(...POLICIES), fc.constantFrom(0, 4, 16, 1, 2), (spec, policy, offset) => {
      const packet = placed(build(spec), offset);
      const fast = agree(new RequestScanner(policy), packet, policy);
      // Nothing unusual in it (at most 16 tags): the fast path must have taken it if judgeRequest does.
      const slow = judge(packet, policy);
      if (!('code' in slow) && spec.extraTags + 5 <= 16)
        assert.ok(fast, 'an ordinary accepted request missed the fast path');
    }),
    { numRuns: 2000 },
  );
});

test('property: on mutated requests (bytes changed, truncated, extended) the scanner agrees with judgeRequest', () => {
  const mutation = fc.record({
    flips: fc.array(fc.tuple(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    }),
    headerOnly: fc.boolean(),
    resize: fc.constantFrom(0, 0, 0, -4, -1, 4, -20),
  });
  fc.assert(
    fc.property(
      requestArb,
      mutation,
      fc.constantFrom(...POLICIES),
      fc.constantFrom(0, 4, 3),
      (spec, m, policy, offset) => {
        const original = build(spec);
        let bytes: Uint8Array = new Uint8Array(Math.max(0, original.byteLength + m.resize));
        bytes.set(original.subarray(0, bytes.byteLength));
        for (const [at, value] of m.flips) {
          const i = m.headerOnly ? at % Math.min(bytes.byteLength, 96) : at % Math.max(1, bytes.byteLength);
          if (i < bytes.byteLength) bytes[i] = value;
        }
        bytes = placed(bytes, offset);
        agree(new RequestScanner(policy), bytes, policy);
      },
    ),
    { numRuns: 5000 },
  );
});
