import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Envelope, MAC_BYTES, constantTimeEqual } from '../../src/wire/envelope.js';

const KEY = new TextEncoder().encode('sixteen-byte-key-and-more');
const payload = new TextEncoder().encode('a saturn message payload');

test('a sealed datagram opens to the same payload', () => {
  const env = new Envelope(KEY);
  const sealed = env.seal(payload);
  assert.equal(sealed.length, 1 + payload.length + MAC_BYTES);
  const opened = env.open(sealed);
  assert.ok(opened.ok);
  assert.deepEqual([...opened.payload], [...payload]);
});

test('any single flipped bit anywhere is rejected', () => {
  const env = new Envelope(KEY);
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

test('a datagram under another key is rejected as bad_mac', () => {
  const other = new Envelope(new TextEncoder().encode('another-sixteen-byte-key'));
  const opened = new Envelope(KEY).open(other.seal(payload));
  assert.deepEqual(opened, { ok: false, code: 'SATURN_ERR_BAD_MAC' });
});

test('truncated datagrams are rejected, short ones without computing a MAC', () => {
  const env = new Envelope(KEY);
  const sealed = env.seal(payload);
  for (let len = 0; len < sealed.length; len++) {
    const opened = env.open(sealed.subarray(0, len));
    assert.equal(opened.ok, false);
    if (len < 1 + MAC_BYTES) assert.equal(!opened.ok && opened.code, 'SATURN_ERR_SHORT_PACKET');
  }
});

test('an unknown envelope version is rejected', () => {
  const env = new Envelope(KEY);
  const sealed = env.seal(payload);
  sealed[0] = 2;
  assert.deepEqual(env.open(sealed), { ok: false, code: 'SATURN_ERR_BAD_VERSION' });
});

test('keys under 16 bytes are refused', () => {
  assert.throws(() => new Envelope(new Uint8Array(15)), RangeError);
  assert.doesNotThrow(() => new Envelope(new Uint8Array(16)));
});

test('constantTimeEqual compares whole arrays', () => {
  assert.ok(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
});
