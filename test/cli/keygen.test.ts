import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { parseHmacKeyFile } from '../../src/config/key-file.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

test('keygen writes 0600 files whatever the umask, never overwrites, and prints no HMAC key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-keygen-'));
  const umask = process.umask(0o000);
  try {
    const roughtime = join(dir, 'roughtime.key');
    assert.equal((await run('keygen', '--out', roughtime)).code ?? 0, 0);
    assert.equal(statSync(roughtime).mode & 0o777, 0o600);

    const hmac = join(dir, 'hmac.keys');
    const made = await run('keygen', '--hmac', '--id', '7', '--out', hmac);
    assert.equal(made.code ?? 0, 0);
    assert.equal(statSync(hmac).mode & 0o777, 0o600);
    const text = readFileSync(hmac, 'utf8');
    assert.match(text, /^7 HEX:[0-9a-f]{64}\n$/);
    const ring = parseHmacKeyFile(new Uint8Array(readFileSync(hmac)), hmac);
    assert.deepEqual(ring.ids, [7]);
    assert.equal(ring.current.key.length, 32);
    assert.ok(!made.stdout.includes(text.slice(6, 70)), 'the key is not printed');

    const again = await run('keygen', '--hmac', '--out', hmac);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; not overwriting it/);
    assert.equal(readFileSync(hmac, 'utf8'), text);
    assert.equal((await run('keygen', '--hmac', '--id', '-1', '--out', join(dir, 'x'))).code, 2);
  } finally {
    process.umask(umask);
  }
});
