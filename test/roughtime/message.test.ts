import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaturnError } from '../../src/errors.js';
import { RtMessage, encodeMessage, u32le, u64le } from '../../src/roughtime/message.js';
import { Tag, tagName, tagValue } from '../../src/roughtime/tags.js';

const bytes = (...words: number[]): Uint8Array => {
  const out = new Uint8Array(4 * words.length);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(4 * i, w >>> 0, true));
  return out;
};

function malformed(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (error: unknown) =>
      error instanceof SaturnError && error.code === 'SATURN_ERR_RT_MALFORMED' && pattern.test(error.message),
  );
}

test('tag values sort in the order the drafts list them', () => {
  const order = [
    'SIG',
    'VER',
    'SRV',
    'NONC',
    'DELE',
    'TYPE',
    'PATH',
    'RADI',
    'PUBK',
    'MIDP',
    'SREP',
    'VERS',
    'MINT',
    'ROOT',
    'CERT',
    'MAXT',
    'INDX',
    'ZZZZ',
    'PAD\xff',
  ];
  const values = order.map(tagValue);
  assert.deepEqual(
    [...values].sort((a, b) => a - b),
    values,
  );
  assert.equal(Tag.NONC, 0x434e4f4e);
  assert.equal(Tag.PAD, 0xff444150);
  assert.equal(tagName(Tag.SIG), 'SIG');
  assert.equal(tagName(Tag.PAD), 'PAD\\xff');
  assert.equal(tagName(0x00410041), '0x00410041');
  assert.throws(() => tagValue('TOOLONG'), RangeError);
});

test('encode and parse round-trip, values are views in ascending tag order', () => {
  const encoded = encodeMessage([
    [Tag.NONC, new Uint8Array(32).fill(7)],
    [Tag.VER, u32le(1)],
    [Tag.ZZZZ, new Uint8Array(0)],
    [Tag.MIDP, u64le(2n ** 64n - 1n)],
  ]);
  const message = RtMessage.parse(encoded);
  assert.deepEqual(message.tags, [Tag.VER, Tag.NONC, Tag.MIDP, Tag.ZZZZ]);
  assert.equal(message.u32(Tag.VER), 1);
  assert.equal(message.u64(Tag.MIDP), 2n ** 64n - 1n);
  assert.equal(message.require(Tag.ZZZZ).byteLength, 0);
  assert.equal(message.require(Tag.NONC, 32)[31], 7);
  assert.equal(message.get(Tag.SIG), undefined);
  assert.equal(message.require(Tag.NONC).buffer, encoded.buffer);
  assert.deepEqual(encodeMessage([]), bytes(0));
  assert.equal(RtMessage.parse(bytes(0)).tags.length, 0);
});

test('single-tag message has no offsets', () => {
  const encoded = encodeMessage([[Tag.PAD, new Uint8Array(8)]]);
  assert.deepEqual(encoded.subarray(0, 8), bytes(1, Tag.PAD));
  assert.equal(RtMessage.parse(encoded).require(Tag.PAD).byteLength, 8);
});

test('parse rejects every structural defect with a typed error', () => {
  malformed(() => RtMessage.parse(new Uint8Array(0)), /shorter than its tag count/);
  malformed(() => RtMessage.parse(new Uint8Array(6)), /not a multiple of 4/);
  malformed(() => RtMessage.parse(bytes(0, 0)), /no tags but 4 bytes/);
  malformed(() => RtMessage.parse(bytes(3, 0, 0, 1, 2)), /claims 3 tags/);
  malformed(() => RtMessage.parse(bytes(0xffffffff)), /claims 4294967295 tags/);
  malformed(() => RtMessage.parse(bytes(2, 2, Tag.SIG, Tag.VER, 0)), /not a multiple of 4/);
  malformed(() => RtMessage.parse(bytes(2, 8, Tag.SIG, Tag.VER, 0)), /points past/);
  malformed(() => RtMessage.parse(bytes(3, 4, 0, Tag.SIG, Tag.VER, Tag.NONC, 0)), /smaller than the one before/);
  malformed(() => RtMessage.parse(bytes(2, 0, Tag.VER, Tag.SIG)), /not in ascending order \(SIG after VER\)/);
  malformed(() => RtMessage.parse(bytes(2, 0, Tag.VER, Tag.VER)), /repeats tag VER/);
});

test('typed accessors check presence and lengths', () => {
  const message = RtMessage.parse(
    encodeMessage([
      [Tag.RADI, u64le(1n)],
      [Tag.VER, new Uint8Array(0)],
      [Tag.VERS, new Uint8Array(33 * 4)],
      [Tag.SREP, bytes(1)],
    ]),
    'SREP',
  );
  malformed(() => message.u32(Tag.RADI), /SREP RADI is 8 bytes, expected 4/);
  malformed(() => message.u64(Tag.MIDP), /SREP has no MIDP/);
  malformed(() => message.u32List(Tag.VER), /0 entries/);
  malformed(() => message.u32List(Tag.VERS), /33 entries/);
  malformed(() => message.message(Tag.SREP), /SREP claims 1 tags/);
});

test('encode refuses unaligned values and duplicate tags', () => {
  assert.throws(() => encodeMessage([[Tag.NONC, new Uint8Array(3)]]), RangeError);
  assert.throws(
    () =>
      encodeMessage([
        [Tag.NONC, new Uint8Array(4)],
        [Tag.NONC, new Uint8Array(4)],
      ]),
    RangeError,
  );
  assert.throws(() => u64le(-1n), RangeError);
  assert.throws(() => u64le(2n ** 64n), RangeError);
});
