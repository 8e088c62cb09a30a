import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { KeyedMac, MAC_BYTES, constantTimeEqual } from '../../src/wire/mac.js';

test('KeyedMac is HMAC-SHA256, and a tag wrong in any bit, short or long fails the comparison', () => {
  const key = randomBytes(32);
  const data = randomBytes(120);
  const tag = new Uint8Array(MAC_BYTES);
  new KeyedMac(key).computeInto(data, tag);
  assert.deepEqual(Buffer.from(tag), createHmac('sha256', key).update(data).digest());
  assert.ok(constantTimeEqual(tag, Uint8Array.from(tag)));
  for (let bit = 0; bit < 8 * MAC_BYTES; bit++) {
    const forged = Uint8Array.from(tag);
    forged[bit >> 3]! ^= 1 << (bit & 7);
    assert.ok(!constantTimeEqual(tag, forged), `bit ${bit} flipped`);
  }
  assert.ok(!constantTimeEqual(tag, tag.subarray(0, MAC_BYTES - 1)));
  assert.ok(!constantTimeEqual(tag, new Uint8Array([...tag, 0])));
  // The tag of the same data under another key is a wrong tag too.
  const other = new Uint8Array(MAC_BYTES);
  new KeyedMac(randomBytes(32)).computeInto(data, other);
  assert.ok(!constantTimeEqual(tag, other));
});
