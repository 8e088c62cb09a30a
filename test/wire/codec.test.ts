import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import type { Message } from '../../src/wire/messages.js';

const nonce = (b: number) => new Uint8Array(16).fill(b);

test('every message round-trips, 64-bit instants exactly', () => {
  const messages: Message[] = [
    {
      kind: 'report',
      session: 0xfedcba9876543210n,
      leg: 3,
      nonce: nonce(1),
      echo: nonce(2),
      nodeId: 'web-3',
      receivedAt: 1_795_609_199_993_537_699n,
      sentAt: 1_795_609_199_993_600_001n,
      clockSteps: 2,
      cookie: new Uint8Array(17).fill(9),
      intervalNs: 0,
      peerResults: [
        { peerId: 'web-4', offsetNs: -1_250_000.5, errorNs: 180, rttNs: 350_000, ageNs: 2e9 },
        { peerId: 'db-1', offsetNs: 3, errorNs: 0, rttNs: 0, ageNs: 0 },
      ],
    },
    {
      kind: 'response',
      session: 1n,
      leg: 0,
      nonce: nonce(3),
      echo: nonce(4),
      receivedAt: 18_446_744_073_709_551_615n,
      sentAt: 0n,
      echoSentAt: 1_700_000_000_000_000_123n,
    },
    {
      kind: 'result',
      session: 2n ** 63n,
      echo: nonce(5),
      ok: true,
      offsetNs: -4_984_391.125,
      errorNs: 210.5,
      rttNs: 400_000,
      samples: 4,
      reason: '',
      cookie: new Uint8Array(17).fill(3),
      responderId: 'master-a',
      peers: [
        { id: 'web-4', addr: '10.0.0.4:4444' },
        { id: 'db-1', addr: '[2001:db8::1]:4444' },
      ],
    },
    {
      kind: 'result',
      session: 7n,
      echo: nonce(6),
      ok: false,
      offsetNs: 0,
      errorNs: 0,
      rttNs: 0,
      samples: 0,
      reason: 'a clock stepped',
      cookie: new Uint8Array(0),
      responderId: '',
      peers: [],
    },
    { kind: 'cookie', session: 99n, echo: nonce(7), cookie: new Uint8Array(17).fill(1) },
  ];
  for (const message of messages) {
    const decoded = decodeMessage(encodeMessage(message));
    assert.deepEqual(normalise(decoded), normalise(message));
  }
});

test('bytes that are not one known message decode to undefined, never throw', () => {
  assert.equal(decodeMessage(new Uint8Array(0)), undefined);
  assert.equal(decodeMessage(new Uint8Array([0xff, 0xff, 0xff])), undefined);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const m = decodeMessage(bytes);
      assert.ok(m === undefined || ['report', 'response', 'result', 'cookie'].includes(m.kind));
    }),
    { numRuns: 5000 },
  );
});

test('truncating an encoded report never yields a different valid report silently', () => {
  const bytes = encodeMessage({
    kind: 'report',
    session: 42n,
    leg: 1,
    nonce: nonce(7),
    echo: nonce(8),
    nodeId: 'n',
    receivedAt: 5n,
    sentAt: 6n,
    clockSteps: 0,
    cookie: new Uint8Array(0),
    intervalNs: 0,
    peerResults: [],
  });
  for (let cut = 0; cut < bytes.length; cut++) {
    const m = decodeMessage(bytes.subarray(0, cut));
    // protobuf has no length framing at the top level: a cut may decode, but only to fewer fields.
    if (m && m.kind === 'report')
      assert.ok(m.sentAt !== 6n || m.nonce.length !== 16 || m.echo.length !== 16 || cut === bytes.length);
  }
});

test('a report is padded to the length asked for (at most 2 bytes over) and decodes the same', () => {
  const report = (nodeId: string) =>
    ({
      kind: 'report',
      session: 42n,
      leg: 1,
      nonce: nonce(7),
      echo: nonce(8),
      nodeId,
      receivedAt: 5n,
      sentAt: 6n,
      clockSteps: 0,
      cookie: new Uint8Array(0),
      intervalNs: 0,
      peerResults: [],
    }) as const;
  for (const nodeId of ['n', 'web-3', 'x'.repeat(100), 'y'.repeat(255)]) {
    const plain = encodeMessage(report(nodeId));
    for (const min of [0, plain.length, plain.length + 1, plain.length + 2, plain.length + 3, 150, 155, 300, 400]) {
      const padded = encodeMessage(report(nodeId), min);
      assert.ok(padded.length >= min, `${nodeId.length}-char name padded to ${padded.length} < ${min}`);
      assert.ok(
        padded.length <= Math.max(plain.length, min + 2),
        `${nodeId.length}-char name padded to ${padded.length} for ${min}`,
      );
      assert.deepEqual(normalise(decodeMessage(padded)), normalise(decodeMessage(plain)));
    }
  }
});

/** Plain values for deepEqual: bigints as strings, byte arrays (Buffer or not) as number arrays. */
function normalise(m: object | undefined) {
  if (!m) return m;
  return Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? [...v] : v]),
  );
}
