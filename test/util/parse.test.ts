import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCount, parseHostPort } from '../../src/util/parse.js';

test('a count is decimal digits within its range; anything else is one sentence naming the option', () => {
  assert.equal(parseCount('3', '--peers', 0, 16), 3);
  assert.equal(parseCount(' 16 ', '--peers', 0, 16), 16);
  assert.equal(parseCount(7, '--peers', 0, 16), 7);
  for (const bad of ['', ' ', '0x3', '1e1', '1.5', '-1', '17', 'abc', '3 peers']) {
    assert.throws(
      () => parseCount(bad, '--peers', 0, 16),
      (e: Error) => e.message === `--peers must be an integer from 0 to 16, got "${bad}"`,
      JSON.stringify(bad),
    );
  }
});

test('host:port: a host with spaces is refused whole, naming the value given', () => {
  assert.deepEqual(parseHostPort('[::1]:2002', '--peer'), { host: '::1', port: 2002 });
  assert.throws(
    () => parseHostPort('a b:1', '--peer'),
    (e: Error) => e.message === '--peer must be host:port (e.g. 127.0.0.1:4123), got "a b:1"',
  );
});
