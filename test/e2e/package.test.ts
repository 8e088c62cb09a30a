/**
 * The package as a user installs it: `npm pack`, then `npm install -g` of the tarball into a
 * temporary prefix, then the installed `saturn` runs. (The suite has already compiled dist/, so
 * the pack skips its prepack build; `npm pack` on a clean checkout runs it.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('the packed tarball installs and its saturn runs', { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'saturn-pack-'));
  try {
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(pack.status, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = info!.files.map((f) => f.path);
    assert.ok(paths.includes('dist/src/cli/main.js'), 'the compiled program is in the tarball');
    assert.ok(paths.includes('proto/saturn.proto'));
    assert.ok(!paths.some((p) => p.startsWith('dist/test/') || p.startsWith('src/')), 'no tests or sources');

    const prefix = join(work, 'prefix');
    const install = spawnSync(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(work, info!.filename),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(install.status, 0, install.stderr);
    const saturn = join(prefix, 'bin', 'saturn');
    const version = spawnSync(saturn, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    const expected = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(version.stdout.trim(), expected);
    // A subcommand that loads the protobuf schema and the crypto code from the installed tree.
    const help = spawnSync(saturn, ['--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--master-addr/);
    const status = spawnSync(saturn, ['--hmac-key', 'short'], { encoding: 'utf8' });
    assert.equal(status.status, 2);
    assert.match(status.stderr, /at least 16 bytes/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
