import assert from 'node:assert/strict';
import { test } from 'node:test';
import { smallBytes } from '../../src/wire/small-bytes.js';

test('small arrays never overlap, across slabs too, and slice() copies as for any Uint8Array', () => {
  const arrays = Array.from({ length: 500 }, (_, i) => smallBytes(1 + ((i * 37) % 300)));
  arrays.forEach((a, i) => a.fill(i & 0xff));
  arrays.forEach((a, i) =>
    assert.ok(
      a.every((b) => b === (i & 0xff)),
      `array ${i} was overwritten`,
    ),
  );
  const a = arrays[0]!;
  assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype);
  const copy = a.slice();
  copy[0] = 0xaa;
  assert.equal(a[0], 0);
  for (const length of [0, 1, 1024, 1025, 70_000]) assert.equal(smallBytes(length).length, length);
});
