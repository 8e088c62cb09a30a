import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import type { Message } from '../../src/wire/messages.js';
import { referenceDecode, referenceEncode, strictlyRefused } from './protobufjs-reference.js';

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

/** Plain values for deepEqual: bigints as strings, byte arrays (Buffer or not) as number arrays, recursively. */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

// Differential tests against protobufjs' reflection codec (test/wire/protobufjs-reference.ts).

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 40 });
const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ maxLength: 40 }));
const wholeNs = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 2 ** 53, 2 ** 63, 2 ** 64 - 2 ** 11));

const reportArb: fc.Arbitrary<Message> = fc.record({
  kind: fc.constant('report' as const),
  session: u64,
  leg: u32,
  nonce: bytes,
  echo: bytes,
  nodeId: text,
  receivedAt: u64,
  sentAt: u64,
  clockSteps: u32,
  cookie: bytes,
  intervalNs: wholeNs,
  peerResults: fc.array(
    fc.record({ peerId: text, offsetNs: fc.double(), errorNs: fc.double(), rttNs: fc.double(), ageNs: wholeNs }),
    { maxLength: 4 },
  ),
});
const responseArb: fc.Arbitrary<Message> = fc.record({
  kind: fc.constant('response' as const),
  session: u64,
  leg: u32,
  nonce: bytes,
  echo: bytes,
  receivedAt: u64,
  sentAt: u64,
  echoSentAt: u64,
});
const resultArb: fc.Arbitrary<Message> = fc.record({
  kind: fc.constant('result' as const),
  session: u64,
  echo: bytes,
  ok: fc.boolean(),
  offsetNs: fc.double(),
  errorNs: fc.double(),
  rttNs: fc.double(),
  samples: u32,
  reason: text,
  cookie: bytes,
  responderId: text,
  peers: fc.array(fc.record({ id: text, addr: text }), { maxLength: 4 }),
});
const cookieArb: fc.Arbitrary<Message> = fc.record({
  kind: fc.constant('cookie' as const),
  session: u64,
  echo: bytes,
  cookie: bytes,
});
const messageArb = fc.oneof(reportArb, responseArb, resultArb, cookieArb);

test('random messages of all four kinds: our bytes are protobufjs bytes, and each side decodes the other', () => {
  fc.assert(
    fc.property(messageArb, fc.integer({ min: 0, max: 400 }), (message, minBytes) => {
      const ours = encodeMessage(message, minBytes);
      const theirs = referenceEncode(message, minBytes);
      assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(theirs).toString('hex'));
      assert.deepEqual(normalise(referenceDecode(ours)), normalise(message));
      assert.deepEqual(normalise(decodeMessage(theirs)), normalise(message));
    }),
    { numRuns: 3000 },
  );
});

test('a peer result age is sent as whole non-negative nanoseconds, as before', () => {
  const report = (ageNs: number): Message => ({
    kind: 'report',
    session: 1n,
    leg: 0,
    nonce: nonce(1),
    echo: new Uint8Array(0),
    nodeId: 'a',
    receivedAt: 0n,
    sentAt: 2n,
    clockSteps: 0,
    cookie: new Uint8Array(0),
    intervalNs: 0,
    peerResults: [{ peerId: 'b', offsetNs: 1, errorNs: 2, rttNs: 3, ageNs }],
  });
  for (const [age, sent] of [
    [-5, 0],
    [2.5, 3],
    [1e9 + 0.4, 1e9],
  ] as const) {
    const bytes = encodeMessage(report(age));
    assert.deepEqual(Buffer.from(bytes), Buffer.from(referenceEncode(report(age))));
    const decoded = decodeMessage(bytes);
    assert.equal(decoded?.kind === 'report' && decoded.peerResults[0]!.ageNs, sent);
  }
});

/** Top-level fields of a message's bytes, each as its raw bytes (tag included), split by protobufjs' Reader. */
function fieldsOf(bytes: Uint8Array): Uint8Array[] {
  const reader = protobuf.Reader.create(bytes);
  const fields: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.tag();
    reader.skipType(tag & 7, 0, tag >>> 3);
    fields.push(bytes.subarray(start, reader.pos));
  }
  return fields;
}

/** A Packet whose body member holds `fields` (raw), as member `member` (1-4). */
function packetOf(member: number, fields: Uint8Array[]): Uint8Array {
  return protobuf.Writer.create()
    .uint32((member << 3) | 2)
    .bytes(Buffer.concat(fields))
    .finish();
}

/** A 64-bit value as protobufjs' writer takes it. */
const long = (v: bigint) =>
  ({ low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true }) as unknown as protobuf.Long;

/** Unknown fields (numbers 16-40 and 1000: no message here uses them) of every wire type, groups nested. */
const unknownFieldArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof(fc.integer({ min: 16, max: 40 }), fc.constant(1000)),
    fc.constantFrom(0, 1, 2, 3, 5),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    fc.uint8Array({ maxLength: 20 }),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([field, wireType, value, data, depth]) => {
    const w = protobuf.Writer.create();
    const put = (f: number, t: number, level: number): void => {
      w.uint32((f << 3) | t);
      if (t === 0) w.uint64(long(value));
      else if (t === 1) w.fixed64(long(value));
      else if (t === 2) w.bytes(data);
      else if (t === 5) w.fixed32(Number(value & 0xffffffffn));
      else {
        if (level < depth) put(f + 1, 3, level + 1);
        put(f + 2, 0, depth);
        w.uint32((f << 3) | 4);
      }
    };
    put(field, wireType, 0);
    return w.finish();
  });

/** A valid encoding reworked the ways proto3 allows: its body's fields shuffled, unknown fields mixed in. */
const reworkedArb = fc
  .tuple(messageArb, fc.array(unknownFieldArb, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 20 }))
  .map(([message, unknown, order]) => {
    const [body] = fieldsOf(encodeMessage(message));
    const reader = protobuf.Reader.create(body!);
    const member = reader.tag() >>> 3;
    const fields = [...fieldsOf(reader.bytes()), ...unknown];
    // Fisher-Yates by the drawn numbers (repeated fields keep their relative order only by chance).
    for (let i = fields.length - 1; i > 0; i--) {
      const j = (order[i % Math.max(1, order.length)] ?? 0) % (i + 1);
      [fields[i], fields[j]] = [fields[j]!, fields[i]!];
    }
    return { message, bytes: Buffer.concat([...unknown.slice(0, 1), packetOf(member, fields)]) };
  });

/**
 * Our decoder against protobufjs on any bytes: it never throws; where it accepts, protobufjs
 * accepts and the messages agree; where it refuses what protobufjs accepts, the bytes hold one of
 * the two things it refuses on purpose.
 */
function agreesWithReference(input: Uint8Array): void {
  const ours = decodeMessage(input);
  const theirs = referenceDecode(input);
  if (ours !== undefined) assert.deepEqual(normalise(ours), normalise(theirs));
  else if (theirs !== undefined)
    assert.ok(strictlyRefused(input), `refused what protobufjs takes: ${Buffer.from(input).toString('hex')}`);
}

test('fields in any order, unknown fields of all wire types: decoded as protobufjs decodes them', () => {
  fc.assert(
    fc.property(reworkedArb, ({ bytes: input }) => {
      const ours = decodeMessage(input);
      assert.ok(ours !== undefined, Buffer.from(input).toString('hex'));
      assert.deepEqual(normalise(ours), normalise(referenceDecode(input)));
    }),
    { numRuns: 3000 },
  );
});

test('fields given twice: the last scalar wins, repeated fields append, oneof members switch, as protobufjs', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          messageArb,
          reworkedArb.map((r) => r.bytes),
        ),
        { minLength: 2, maxLength: 4 },
      ),
      (parts) => {
        const input = Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : encodeMessage(p))));
        const ours = decodeMessage(input);
        assert.ok(ours !== undefined);
        assert.deepEqual(normalise(ours), normalise(referenceDecode(input)));
      },
    ),
    { numRuns: 2000 },
  );
});

/** Valid encodings damaged: bytes flipped, cut, inserted, removed or repeated. */
const mutatedArb = fc
  .tuple(
    fc.oneof(
      messageArb.map((m) => encodeMessage(m)),
      reworkedArb.map((r) => r.bytes),
    ),
    fc.array(
      fc.tuple(
        fc.constantFrom('flip', 'cut', 'insert', 'remove', 'repeat'),
        fc.nat(),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([valid, mutations]) => {
    let b = Buffer.from(valid);
    for (const [kind, x, y, data] of mutations) {
      const i = b.length === 0 ? 0 : x % b.length;
      const n = 1 + (y % 8);
      if (kind === 'flip' && b.length > 0) b[i] = b[i]! ^ (1 << (y % 8)) ^ (data[0]! & -(y & 1));
      else if (kind === 'cut') b = b.subarray(0, i);
      else if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), data, b.subarray(i)]);
      else if (kind === 'remove') b = Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
      else if (kind === 'repeat') b = Buffer.concat([b.subarray(0, i + n), b.subarray(i)]);
    }
    return b;
  });

test('fuzz: random and damaged bytes never throw, and agree with protobufjs wherever we accept', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (input) => agreesWithReference(input)),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(mutatedArb, (input) => agreesWithReference(input)),
    { numRuns: 20000 },
  );
});

/** A Packet whose Report body is `body` (hex), for the crafted cases below. */
const reportOf = (hex: string): Uint8Array => packetOf(1, [Buffer.from(hex, 'hex')]);

test('malformed bytes are refused (undefined), each case named; protobufjs refuses them too unless said', () => {
  const cases: [string, Uint8Array, 'both' | 'ours'][] = [
    ['a truncated varint', reportOf('10ff'), 'both'],
    ['a varint of 11 bytes (leg)', reportOf('10ffffffffffffffffffff01'), 'both'],
    ['a varint of 11 bytes (interval_ns, uint64)', reportOf('48ffffffffffffffffffff01'), 'both'],
    ['a tag of 6 bytes', reportOf('ffffffffff01'), 'both'],
    ['a tag past 2^32', reportOf('ffffffff7f'), 'both'],
    ['a tag of 5 bytes with a bit past 32', reportOf('a08180801001'), 'both'],
    ['a length of 5 bytes with a bit past 31', reportOf('1a8380808070010203'), 'both'],
    ['a length past the end', reportOf('1a05010203'), 'both'],
    ['a length of 2^31', reportOf('1a8080808008'), 'both'],
    ['a body length past the end', Buffer.from('0a05', 'hex'), 'both'],
    ['a truncated fixed64', reportOf('090102030405'), 'both'],
    ['a truncated double', packetOf(3, [Buffer.from('2101020304', 'hex')]), 'both'],
    ['field number 0', reportOf('0001'), 'both'],
    ['wire type 6', reportOf('a601'), 'both'],
    ['wire type 7', reportOf('a701'), 'both'],
    ['an end-group without its start', reportOf('a401'), 'both'],
    ['an end-group of another field', reportOf('a301a401b401'), 'both'],
    ['a group never ended', reportOf('a3010801'), 'both'],
    ['a string with an overlong encoding', reportOf('2a02c080'), 'both'],
    ['a string with a lone surrogate', reportOf('2a03eda080'), 'both'],
    ['a string cut inside a character', reportOf('2a02e282'), 'both'],
    ['a string with a byte that is never UTF-8', reportOf('2a0141ff'.slice(0, 6) + 'ff'), 'both'],
    ['a known field with another wire type (leg as fixed32)', reportOf('1501020304'), 'ours'],
    ['a known field with another wire type (session as a varint)', reportOf('0801'), 'ours'],
    ['a body member that is not length-delimited (protobufjs: no body)', Buffer.from('0801', 'hex'), 'both'],
    ['an unknown varint of 11 bytes', reportOf('a001ffffffffffffffffffff01'), 'ours'],
    ['nothing', new Uint8Array(0), 'both'],
    ['only unknown fields', Buffer.from('a0010108ff01', 'hex'), 'both'],
  ];
  for (const [name, input, who] of cases) {
    assert.equal(decodeMessage(input), undefined, name);
    if (who === 'both') assert.equal(referenceDecode(input), undefined, `protobufjs takes ${name}`);
    else assert.ok(referenceDecode(input) !== undefined && strictlyRefused(input), `protobufjs refuses ${name}`);
  }
});

test('valid UTF-8 decodes as protobufjs decodes it, a leading byte order mark kept', () => {
  for (const name of ['\uFEFFweb-1', 'héllo', '東京-3', '🛰️-sat', 'x'.repeat(70) + 'é', 'é'.repeat(40)]) {
    const input = reportOf(
      Buffer.concat([Buffer.from([0x2a, Buffer.byteLength(name)]), Buffer.from(name)]).toString('hex'),
    );
    const decoded = decodeMessage(input);
    assert.equal(decoded?.kind === 'report' && decoded.nodeId, name);
    assert.deepEqual(normalise(decoded), normalise(referenceDecode(input)));
  }
});

test('a lone surrogate is written as protobufjs writes it, and neither side reads it back', () => {
  const result: Message = {
    kind: 'result',
    session: 1n,
    echo: nonce(1),
    ok: false,
    offsetNs: 0,
    errorNs: 0,
    rttNs: 0,
    samples: 0,
    reason: 'cut \uD83D',
    cookie: new Uint8Array(0),
    responderId: 'm',
    peers: [],
  };
  const bytes = encodeMessage(result);
  assert.deepEqual(Buffer.from(bytes), Buffer.from(referenceEncode(result)));
  assert.equal(decodeMessage(bytes), undefined);
  assert.equal(referenceDecode(bytes), undefined);
});

test('unknown groups nest as deep as protobufjs allows and no deeper', () => {
  // Groups of field 20 nested n deep inside a Report (message depth 1), around a varint.
  const nested = (n: number) => reportOf('a301'.repeat(n) + 'a80101' + 'a401'.repeat(n) + '1003');
  for (const n of [1, 50, 98, 99, 100, 101, 150]) {
    const ours = decodeMessage(nested(n));
    const theirs = referenceDecode(nested(n));
    assert.deepEqual(normalise(ours), normalise(theirs), `${n} deep`);
  }
  assert.ok(decodeMessage(nested(99)) !== undefined && decodeMessage(nested(101)) === undefined);
});

test('varints of 10 bytes: 32-bit fields keep the low 32 bits, 64-bit fields read whole, as protobufjs', () => {
  for (const hex of [
    '10ffffffff0f', // leg 2^32 - 1
    '10ffffffffffffffffff01', // leg as a negative int64: low 32 bits
    '1080808080808080808000', // leg 0 in 10 bytes
    '48ffffffffffffffffff01', // interval_ns 2^64 - 1
    '4880808080808080808001', // interval_ns 2^63
    '5a0b28ffffffffffffffffff01', // a peer result's age_ns 2^64 - 1
  ]) {
    const input = reportOf(hex);
    assert.ok(decodeMessage(input) !== undefined, hex);
    assert.deepEqual(normalise(decodeMessage(input)), normalise(referenceDecode(input)), hex);
  }
});
