import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildConfig } from '../../src/config/build-config.js';
import { checkPrivateFile, loadHmacKeyFile, parseHmacKeyFile } from '../../src/config/key-file.js';
import { ConfigError } from '../../src/errors.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const SECRET = 'a-secret-key-nobody-may-see-0123';

test('"ID KEY" lines: the first is current, every one is held; text or HEX:, comments and blanks ignored', () => {
  const ring = parseHmacKeyFile(
    bytes(`# saturn keys\n\n2 HEX:${'ab'.repeat(32)}\n1 ${SECRET}\r\n  # retired soon\n`),
    'keys',
  );
  assert.equal(ring.current.id, 2);
  assert.deepEqual([...ring.current.key], new Array(32).fill(0xab));
  assert.deepEqual(ring.ids, [2, 1]);
  assert.ok(ring.macOf(1));
});

test('a file that is one key (the format before key ids) is key 0, without its trailing newline', () => {
  for (const text of [`${SECRET}\n`, SECRET, `${SECRET}\r\n`, 'key with spaces in it, sixteen+']) {
    const ring = parseHmacKeyFile(bytes(text), 'k');
    assert.deepEqual(ring.ids, [0]);
    assert.equal(Buffer.from(ring.current.key).toString(), text.replace(/\r?\n$/, ''));
  }
});

test('a UTF-8 byte order mark (as Windows editors write) is not part of the first line or key', () => {
  const bom = [0xef, 0xbb, 0xbf];
  const line = `1 HEX:${'ab'.repeat(32)}\n`;
  const ring = parseHmacKeyFile(new Uint8Array([...bom, ...bytes(line)]), 'keys');
  assert.deepEqual(ring.ids, [1]);
  assert.deepEqual([...ring.current.key], new Array(32).fill(0xab));
  const bare = parseHmacKeyFile(new Uint8Array([...bom, ...bytes(`${SECRET}\n`)]), 'k');
  assert.equal(Buffer.from(bare.current.key).toString(), SECRET);
});

test('bad key files are one sentence naming the file and line, never the key', () => {
  const cases: [string, RegExp][] = [
    [`1 ${SECRET}\nnot a key line ${SECRET}\n`, /line 2: expected "ID KEY"/],
    [`1 ${SECRET}\n1 ${SECRET}x\n`, /line 2: key id 1 is given twice/],
    [`4294967296 ${SECRET}\n`, /key id must be from 0 to 4294967295/],
    [`1 short\n`, /HMAC key 1 in keys must be at least 16 bytes, got 5/],
    [`1 HEX:abc\n2 ${SECRET}\n`, /line 1: HEX: must be followed by pairs of hex digits/],
    [`# only a comment\n\n`, /holds no key/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseHmacKeyFile(bytes(text), 'keys'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        assert.ok(!err.message.includes(SECRET) && !err.message.includes('short'), err.message);
        return true;
      },
    );
  }
});

test('key files open to group or others are refused unless --allow-insecure-key-file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-keyfile-'));
  const file = join(dir, 'keys');
  writeFileSync(file, `1 ${SECRET}\n`, { mode: 0o600 });
  assert.deepEqual(loadHmacKeyFile(file, false).ids, [1]);
  chmodSync(file, 0o400);
  assert.doesNotThrow(() => loadHmacKeyFile(file, false));
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
    chmodSync(file, mode);
    assert.throws(
      () => buildConfig({ hmacKeyFile: file }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(`mode 0${mode.toString(8)}`) &&
        /chmod 600 it, or pass --allow-insecure-key-file/.test(err.message) &&
        !err.message.includes(SECRET),
    );
    assert.deepEqual(buildConfig({ hmacKeyFile: file, allowInsecureKeyFile: true }).hmacKeys.ids, [1]);
    assert.throws(
      () => checkPrivateFile(file, 'Roughtime key file', false),
      /Roughtime key file .* is open to other users/,
    );
  }
  // The Roughtime long-term key file is guarded the same way, at start.
  const roughtimeKey = join(dir, 'roughtime.key');
  writeFileSync(roughtimeKey, `${'00'.repeat(32)}\n`, { mode: 0o644 });
  chmodSync(roughtimeKey, 0o644);
  assert.throws(
    () => buildConfig({ hmacKey: SECRET, roughtimeKeyFile: roughtimeKey }),
    /Roughtime key file .* is open to other users \(mode 0644\)/,
  );
  assert.equal(
    buildConfig({ hmacKey: SECRET, roughtimeKeyFile: roughtimeKey, allowInsecureKeyFile: 'true' }).roughtimeKeyFile,
    roughtimeKey,
  );
  chmodSync(roughtimeKey, 0o600);
  assert.equal(buildConfig({ hmacKey: SECRET, roughtimeKeyFile: roughtimeKey }).roughtimeKeyFile, roughtimeKey);
});

test('a directory, or a file that never ends, is refused with one sentence (not a mode complaint, not a read without end)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-keyfile-'));
  const sub = join(dir, 'keys.d');
  mkdirSync(sub, { mode: 0o755 });
  assert.throws(
    () => loadHmacKeyFile(sub, false),
    (err: unknown) => err instanceof ConfigError && err.message === `HMAC key file ${sub} is a directory, not a file`,
  );
  if (existsSync('/dev/zero'))
    assert.throws(
      () => loadHmacKeyFile('/dev/zero', true),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === 'HMAC key file /dev/zero holds more than 1 MiB: it is not a key file',
    );
});
