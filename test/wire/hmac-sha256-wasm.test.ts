import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { HMAC_SHA256_BYTES, HmacSha256State } from '../../src/wire/hmac-sha256-wasm.js';

const reference = (key: Uint8Array, data: Uint8Array): Buffer => createHmac('sha256', key).update(data).digest();

test('every message length from 0 to 600 bytes (each padding case, 1 to 11 blocks) tags as node:crypto does', () => {
  // Keys shorter than a block, exactly one, and longer (hashed first, RFC 2104).
  for (const keyBytes of [1, 16, 32, 63, 64, 65, 100, 200]) {
    const key = randomBytes(keyBytes);
    const mac = new HmacSha256State(key);
    const out = new Uint8Array(HMAC_SHA256_BYTES);
    for (let length = 0; length <= 600; length++) {
      const data = randomBytes(length);
      mac.computeInto(data, out);
      assert.equal(
        Buffer.from(out).toString('hex'),
        reference(key, data).toString('hex'),
        `key ${keyBytes} B, ${length} B`,
      );
    }
  }
});

test('random keys interleaved: each call uses its own key state', () => {
  const keys = Array.from({ length: 5 }, () => randomBytes(randomInt(1, 300)));
  const macs = keys.map((key) => new HmacSha256State(key));
  const out = new Uint8Array(HMAC_SHA256_BYTES);
  for (let i = 0; i < 2000; i++) {
    const k = randomInt(keys.length);
    const data = randomBytes(randomInt(0, 1100));
    macs[k]!.computeInto(data, out);
    assert.deepEqual(Buffer.from(out), reference(keys[k]!, data));
  }
});

test('a message longer than the module memory grows it, and later calls still agree', () => {
  const key = randomBytes(32);
  const mac = new HmacSha256State(key);
  const out = new Uint8Array(HMAC_SHA256_BYTES);
  const long = randomBytes(300_000);
  mac.computeInto(long, out);
  assert.deepEqual(Buffer.from(out), reference(key, long));
  const short = randomBytes(110);
  mac.computeInto(short, out);
  assert.deepEqual(Buffer.from(out), reference(key, short));
});

test('the tag goes into a subarray of a bigger buffer without touching its neighbours', () => {
  const key = randomBytes(32);
  const data = randomBytes(150);
  const buffer = new Uint8Array(100).fill(0xee);
  new HmacSha256State(key).computeInto(data, buffer.subarray(10, 42));
  assert.deepEqual(Buffer.from(buffer.subarray(10, 42)), reference(key, data));
  assert.ok(buffer.subarray(0, 10).every((b) => b === 0xee) && buffer.subarray(42).every((b) => b === 0xee));
});
