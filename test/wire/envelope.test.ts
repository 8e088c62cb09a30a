import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  ENVELOPE_VERSION,
  Envelope,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  MIN_DATAGRAM_BYTES,
  prefilter,
} from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { MAC_BYTES, constantTimeEqual } from '../../src/wire/mac.js';

const KEY = new TextEncoder().encode('sixteen-byte-key-and-more');
const OTHER = new TextEncoder().encode('another-sixteen-byte-key');
const payload = new TextEncoder().encode('a saturn message payload');

test('a sealed datagram opens to the same payload; the header holds version 2 and the key id', () => {
  const env = new Envelope(new KeyRing([{ id: 0x01020304, key: KEY }]));
  const sealed = env.seal(payload);
  assert.equal(sealed.length, HEADER_BYTES + payload.length + MAC_BYTES);
  assert.deepEqual([...sealed.subarray(0, HEADER_BYTES)], [ENVELOPE_VERSION, 1, 2, 3, 4]);
  const opened = env.open(sealed);
  assert.ok(opened.ok);
  assert.equal(opened.keyId, 0x01020304);
  assert.deepEqual([...opened.payload], [...payload]);
  // The highest key id, and a datagram matching node:crypto's HMAC over header and payload.
  const top = new Envelope(new KeyRing([{ id: 0xffffffff, key: KEY }])).seal(payload);
  assert.deepEqual([...top.subarray(0, HEADER_BYTES)], [ENVELOPE_VERSION, 255, 255, 255, 255]);
  const end = top.length - MAC_BYTES;
  assert.deepEqual(Buffer.from(top.subarray(end)), createHmac('sha256', KEY).update(top.subarray(0, end)).digest());
});

test('any single flipped bit anywhere is rejected, the header included', () => {
  const env = new Envelope(KeyRing.single(KEY));
  const sealed = env.seal(payload);
  let rejected = 0;
  for (let i = 0; i < sealed.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = sealed.slice();
      copy[i]! ^= 1 << bit;
      const opened = env.open(copy);
      assert.equal(opened.ok, false, `byte ${i} bit ${bit} accepted`);
      rejected++;
    }
  }
  assert.equal(rejected, sealed.length * 8);
});

test('a datagram under another key with the same id is rejected as bad_mac', () => {
  const other = new Envelope(KeyRing.single(OTHER));
  const opened = new Envelope(KeyRing.single(KEY)).open(other.seal(payload));
  assert.deepEqual(opened, { ok: false, code: 'SATURN_ERR_BAD_MAC', keyId: 0 });
});

test('a key id the ring does not hold is refused before any MAC, naming the id', () => {
  const sender = new Envelope(new KeyRing([{ id: 7, key: OTHER }]));
  const receiver = new Envelope(new KeyRing([{ id: 1, key: KEY }]));
  assert.deepEqual(receiver.open(sender.seal(payload)), { ok: false, code: 'SATURN_ERR_UNKNOWN_KEY', keyId: 7 });
  assert.equal(prefilter(sender.seal(payload), receiver.keys), 'SATURN_ERR_UNKNOWN_KEY');
});

test('a receiver accepts every key of its ring; a sender seals with the first, or with the id asked for', () => {
  const ring = new KeyRing([
    { id: 2, key: OTHER },
    { id: 1, key: KEY },
  ]);
  const both = new Envelope(ring);
  const old = new Envelope(new KeyRing([{ id: 1, key: KEY }]));
  const fresh = new Envelope(new KeyRing([{ id: 2, key: OTHER }]));
  const idOf = (opened: ReturnType<Envelope['open']>) => (opened.ok ? opened.keyId : opened.code);
  assert.equal(idOf(both.open(old.seal(payload))), 1);
  assert.equal(idOf(both.open(fresh.seal(payload))), 2);
  assert.equal(idOf(both.open(both.seal(payload))), 2, 'the first key is current');
  assert.equal(idOf(old.open(both.seal(payload, 1))), 1, 'a reply under the key its request came with');
  assert.equal(idOf(both.open(both.seal(payload, 99))), 2, 'an id no longer held: the current key');
  assert.deepEqual([...both.keyUse.received].sort(), [
    [1, 1],
    [2, 3],
  ]);
  assert.deepEqual([...both.keyUse.sent].sort(), [
    [1, 1],
    [2, 2],
  ]);
});

test('the key-free checks come first: length, then version byte, then key id', () => {
  const env = new Envelope(KeyRing.single(KEY));
  const sealed = env.seal(payload);
  for (let len = 0; len < MIN_DATAGRAM_BYTES; len++)
    assert.equal(prefilter(sealed.subarray(0, len), env.keys), 'SATURN_ERR_SHORT_PACKET');
  const huge = new Uint8Array(MAX_DATAGRAM_BYTES + 1);
  huge.set(sealed);
  assert.equal(prefilter(huge, env.keys), 'SATURN_ERR_LONG_PACKET');
  assert.deepEqual(env.open(huge), { ok: false, code: 'SATURN_ERR_LONG_PACKET' });
  for (const version of [0, 1, 3, 255]) {
    const copy = sealed.slice();
    copy[0] = version;
    assert.equal(prefilter(copy, env.keys), 'SATURN_ERR_BAD_VERSION');
    assert.deepEqual(env.open(copy), { ok: false, code: 'SATURN_ERR_BAD_VERSION' });
  }
  assert.equal(prefilter(sealed, env.keys), undefined);
});

test('random garbage never opens, and most of it is refused before any MAC', () => {
  const env = new Envelope(KeyRing.single(KEY));
  let prefiltered = 0;
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 20_000; i++) {
    const garbage = new Uint8Array(next() * 8);
    for (let j = 0; j < garbage.length; j++) garbage[j] = next();
    assert.equal(env.open(garbage).ok, false);
    if (prefilter(garbage, env.keys) !== undefined) prefiltered++;
  }
  assert.ok(prefiltered > 19_900, `${prefiltered} of 20,000 refused before the MAC`);
});

test('key rings refuse short keys, duplicate ids and ids beyond 32 bits', () => {
  assert.throws(() => KeyRing.single(new Uint8Array(15)), RangeError);
  assert.doesNotThrow(() => KeyRing.single(new Uint8Array(16)));
  assert.throws(() => new KeyRing([]), RangeError);
  assert.throws(
    () =>
      new KeyRing([
        { id: 1, key: KEY },
        { id: 1, key: OTHER },
      ]),
    /given twice/,
  );
  assert.throws(() => new KeyRing([{ id: 2 ** 32, key: KEY }]), RangeError);
});

test('a replaced ring takes effect at once; the counts go on', () => {
  const env = new Envelope(KeyRing.single(KEY));
  const sealedOld = env.seal(payload);
  env.setKeys(new KeyRing([{ id: 5, key: OTHER }]));
  assert.deepEqual(env.open(sealedOld), { ok: false, code: 'SATURN_ERR_UNKNOWN_KEY', keyId: 0 });
  assert.equal(env.open(env.seal(payload)).ok, true);
  assert.deepEqual(
    [...env.keyUse.sent],
    [
      [0, 1],
      [5, 1],
    ],
  );
});

test('constantTimeEqual compares whole arrays', () => {
  assert.ok(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
});
