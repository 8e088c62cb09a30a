/**
 * deploy/saturn.service: systemd accepts it, and its own security analysis rates it well
 * (no root, no capabilities, the key as a credential).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SATURN_BIN } from '../helpers/saturn-process.js';
import { hasCommand } from '../helpers/system.js';

const UNIT = fileURLToPath(new URL('../../../deploy/saturn.service', import.meta.url));

test('the unit runs without root or capabilities and takes the key as a credential', () => {
  const text = readFileSync(UNIT, 'utf8');
  for (const line of [
    'DynamicUser=yes',
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'LoadCredential=hmac-keys:/etc/saturn/hmac.keys',
    'ExecReload=/bin/kill -HUP $MAINPID',
  ])
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  assert.match(text, /^ExecStart=\S+ --hmac-key-file \$\{CREDENTIALS_DIRECTORY\}\/hmac-keys /m);
  assert.doesNotMatch(text, /^User=root/m);
});

test('systemd-analyze verifies the unit and rates its exposure low', (t) => {
  if (!hasCommand('systemd-analyze')) {
    t.skip('systemd-analyze is not installed (it comes with systemd)');
    return;
  }
  // The unit names the installed binary; here, the one in this checkout.
  const unit = join(mkdtempSync(join(tmpdir(), 'saturn-unit-')), 'saturn.service');
  writeFileSync(unit, readFileSync(UNIT, 'utf8').replace('/usr/local/bin/saturn', SATURN_BIN));
  const verified = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(verified.status, 0, verified.stderr);
  assert.equal(verified.stderr.trim(), '', verified.stderr);
  const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], {
    encoding: 'utf8',
  });
  const score = /Overall exposure level for saturn\.service: ([\d.]+)/.exec(security.stdout);
  assert.ok(score, `no score in:\n${security.stdout}${security.stderr}`);
  assert.ok(Number(score[1]) <= 2, `exposure ${score[1]} (0 = locked down, 10 = exposed)`);
});
