import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaturnError } from '../../src/errors.js';
import { FRAME_HEADER_BYTES, frame, isFramed, unframe } from '../../src/roughtime/frame.js';

test('frame adds ROUGHTIM and the length; unframe returns the message', () => {
  const message = new Uint8Array([1, 2, 3, 4]);
  const packet = frame(message);
  assert.equal(packet.byteLength, FRAME_HEADER_BYTES + 4);
  assert.equal(Buffer.from(packet.subarray(0, 8)).toString('latin1'), 'ROUGHTIM');
  assert.equal(new DataView(packet.buffer).getBigUint64(0, true), 0x4d49544847554f52n);
  assert.ok(isFramed(packet));
  assert.deepEqual(unframe(packet), message);
});

test('unframe rejects a wrong magic or a length that does not match', () => {
  const isMalformed = (e: unknown): boolean => e instanceof SaturnError && e.code === 'SATURN_ERR_RT_MALFORMED';
  assert.throws(() => unframe(new Uint8Array(16)), isMalformed);
  assert.throws(() => unframe(frame(new Uint8Array(8)).subarray(0, 10)), isMalformed);
  const packet = frame(new Uint8Array(8));
  assert.throws(() => unframe(packet.subarray(0, 16)), isMalformed);
  assert.throws(() => unframe(new Uint8Array([...packet, 0, 0, 0, 0])), isMalformed);
  assert.equal(isFramed(new Uint8Array(3)), false);
});
