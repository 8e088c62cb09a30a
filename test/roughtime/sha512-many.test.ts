import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { DATA_AT, MAX_INPUT_BYTES, Sha512Many } from '../../src/roughtime/sha512-many.js';

const reference = (prefix: number, input: Uint8Array): Buffer =>
  createHash('sha512').update(Uint8Array.of(prefix)).update(input).digest();

test('every input length from 0 to 600 bytes (1 to 6 blocks, each padding case) hashes as node:crypto does', () => {
  const sha = new Sha512Many();
  for (let length = 0; length <= 600; length++) {
    const input = randomBytes(length);
    const prefix = length % 256;
    sha.bytes.set(input, DATA_AT);
    sha.hashMany(prefix, DATA_AT, length, length, 1, DATA_AT + 1024, 64);
    assert.equal(
      sha.bytes.subarray(DATA_AT + 1024, DATA_AT + 1088).toString('hex'),
      reference(prefix, input).toString('hex'),
      `length ${length}`,
    );
  }
});

test('the longest input, and many inputs in one call: strided, truncated, written side by side', () => {
  const sha = new Sha512Many();
  sha.reserve(DATA_AT + 2 * 1024 * 1024);
  const count = 3000;
  const stride = 70;
  const inputs = Array.from({ length: count }, () => randomBytes(64));
  inputs.forEach((input, i) => sha.bytes.set(input, DATA_AT + i * stride));
  const outAt = DATA_AT + count * stride;
  sha.hashMany(0x01, DATA_AT, stride, 64, count, outAt, 32);
  inputs.forEach((input, i) =>
    assert.deepEqual(sha.bytes.subarray(outAt + 32 * i, outAt + 32 * (i + 1)), reference(0x01, input).subarray(0, 32)),
  );
  const longest = randomBytes(MAX_INPUT_BYTES);
  sha.bytes.set(longest, DATA_AT);
  sha.hashMany(0x00, DATA_AT, 0, MAX_INPUT_BYTES, 1, DATA_AT + MAX_INPUT_BYTES, 64);
  assert.deepEqual(
    sha.bytes.subarray(DATA_AT + MAX_INPUT_BYTES, DATA_AT + MAX_INPUT_BYTES + 64),
    reference(0x00, longest),
  );
});

test('lengths and ranges it cannot take are RangeErrors naming the value, never a write outside memory', () => {
  const sha = new Sha512Many();
  const size = sha.bytes.byteLength;
  assert.throws(() => sha.hashMany(0, DATA_AT, 0, MAX_INPUT_BYTES + 1, 1, DATA_AT, 32), /got 2031/);
  assert.throws(() => sha.hashMany(0, DATA_AT, 64, 64, 1, DATA_AT, 65), /outBytes must be 1 to 64, got 65/);
  assert.throws(() => sha.hashMany(0, 0, 64, 64, 1, DATA_AT, 32), RangeError);
  assert.throws(() => sha.hashMany(0, DATA_AT, 64, 64, 2, size - 32, 32), RangeError);
  sha.reserve(size + 1);
  assert.ok(sha.bytes.byteLength > size, 'reserve grows memory and renews the view');
});
