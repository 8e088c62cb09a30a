import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { keyFileText, loadKeyFile, parseKeyFile } from '../../src/roughtime/server-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'saturn-server-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const BOM = [0xef, 0xbb, 0xbf];

test('a key file holds the seed as hex, as base64 or as 32 raw bytes', () => {
  assert.deepEqual(parseKeyFile(Buffer.from(keyFileText(SEED)), 'k'), SEED);
  assert.deepEqual(parseKeyFile(Buffer.from(`${Buffer.from(SEED).toString('base64')}\r\n`), 'k'), SEED);
  assert.deepEqual(parseKeyFile(SEED, 'k'), SEED);
});

test('a UTF-8 byte order mark before a hex or base64 seed is skipped; a raw seed that starts with its bytes stays raw', () => {
  assert.deepEqual(parseKeyFile(Buffer.from([...BOM, ...Buffer.from(keyFileText(SEED))]), 'k'), SEED);
  assert.deepEqual(
    parseKeyFile(Buffer.from([...BOM, ...Buffer.from(Buffer.from(SEED).toString('base64'))]), 'k'),
    SEED,
  );
  const raw = Uint8Array.from([...BOM, ...SEED.subarray(3)]);
  assert.deepEqual(parseKeyFile(raw, 'k'), raw);
});

test('a key file that is not one is refused with one sentence naming it', async () => {
  const big = join(dir, 'big');
  writeFileSync(big, 'a'.repeat(5000));
  await assert.rejects(
    loadKeyFile(big),
    (e: unknown) => e instanceof ConfigError && /big holds more than 4096 bytes/.test(e.message),
  );
  await assert.rejects(
    loadKeyFile(dir),
    (e: unknown) => e instanceof ConfigError && /cannot be read \(EISDIR\)/.test(e.message),
  );
  const short = join(dir, 'short');
  writeFileSync(short, 'abc\n');
  await assert.rejects(
    loadKeyFile(short),
    (e: unknown) => e instanceof ConfigError && /holds no Ed25519 seed/.test(e.message),
  );
});

test('a key file that never ends (/dev/zero) is refused after a bound, not read until memory runs out', async (t) => {
  if (!existsSync('/dev/zero')) return t.skip('no /dev/zero on this system');
  await assert.rejects(
    loadKeyFile('/dev/zero'),
    (e: unknown) => e instanceof ConfigError && /more than 4096 bytes/.test(e.message),
  );
});
