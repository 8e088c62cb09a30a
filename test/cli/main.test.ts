import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { SATURN_BIN } from '../helpers/saturn-process.js';

function capture() {
  const out: string[] = [];
  return { sink: { write: (s: string) => out.push(s) }, text: () => out.join('') };
}

async function run(...argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(argv, { stdout: stdout.sink, stderr: stderr.sink });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

test('bad configuration exits 2 with one sentence', async () => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /unknown option '--bogus'/],
    [[], /HMAC key is required/],
    [['--hmac-key', 'short'], /at least 16 bytes/],
    [['--hmac-key', '0123456789abcdef', '--listen-addr', 'nowhere'], /--listen-addr must be host:port/],
    [['--hmac-key', '0123456789abcdef', '--interval', 'soon'], /--interval must be a duration/],
    [['--config', '/nonexistent/saturn.json'], /cannot read config file/],
  ];
  for (const [argv, message] of cases) {
    const { code, stderr } = await run(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, `one line for ${argv.join(' ')}: ${stderr}`);
  }
});

test('a state dir saturn cannot use is one sentence and exit 2, not a stack trace', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  for (const [text, message] of [
    ['garbage\n', /^saturn: .*sequence does not hold a sequence number: "garbage"\n$/],
    ['', /^saturn: .*sequence is empty: it should hold the next event sequence number\n$/],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'saturn-state-'));
    writeFileSync(join(dir, 'sequence'), text);
    const { code, stderr } = await run(
      '--hmac-key',
      '0123456789abcdef',
      '--listen-addr',
      '127.0.0.1:0',
      '--state-dir',
      dir,
    );
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 2);
    assert.match(stderr, message);
  }
});

test('a port already in use is one sentence naming the option, exit 2; a slave is told to pick its own', async () => {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const { port } = socket.address();
  try {
    const master = await run('--hmac-key', '0123456789abcdef', '--listen-addr', `127.0.0.1:${port}`);
    assert.equal(master.code, 2);
    assert.equal(master.stderr, `saturn: --listen-addr 127.0.0.1:${port}: the address is already in use\n`);
    const slave = await run(
      '--hmac-key',
      '0123456789abcdef',
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--master-addr',
      `127.0.0.1:${port}`,
    );
    assert.equal(slave.code, 2);
    assert.match(
      slave.stderr,
      /^saturn: --listen-addr 127\.0\.0\.1:\d+: the address is already in use \(.*give this node its own --listen-addr.*\)\n$/,
    );
  } finally {
    socket.close();
  }
});

test('errors name the option, file or variable the bad value came from, in one sentence', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'saturn-errors-'));
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  const shortKey = join(dir, 'key');
  writeFileSync(shortKey, 'short\n', { mode: 0o600 });
  const config = join(dir, 'saturn.json');
  writeFileSync(config, JSON.stringify({ hmacKey: '0123456789abcdef', threshold: 'zz' }));
  const key = ['--hmac-key', '0123456789abcdef', '--listen-addr', '127.0.0.1:0'];
  const cases: [string[], RegExp][] = [
    [
      [...key, '--state-dir', '/proc/nope'],
      /^saturn: --state-dir \/proc\/nope: cannot create \/proc\/nope \(E[A-Z]+\)\n$/,
    ],
    [[...key, '--state-dir', file], /^saturn: --state-dir .*plain-file: .*plain-file is not a directory\n$/],
    [['--hmac-key-file', shortKey], /^saturn: HMAC key 0 in .*key must be at least 16 bytes, got 5\n$/],
    [['--config', config], /^saturn: "threshold" in .*saturn\.json must be a duration/],
  ];
  for (const [argv, message] of cases) {
    const started = performance.now();
    const { code, stderr } = await run(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(stderr, message);
    assert.ok(performance.now() - started < 10_000, `${argv.join(' ')} took too long`);
  }
  const env = spawnSync(process.execPath, [SATURN_BIN, '--hmac-key', '0123456789abcdef'], {
    env: { ...process.env, SATURN_THRESHOLD: 'oops' },
    encoding: 'utf8',
  });
  assert.equal(env.status, 2);
  assert.equal(env.stderr, 'saturn: SATURN_THRESHOLD must be a duration such as 250ms, 1.5s or 2m, got "oops"\n');
});

test('environment variables set options', () => {
  const r = spawnSync(process.execPath, [SATURN_BIN], {
    env: { ...process.env, SATURN_HMAC_KEY: 'short' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /at least 16 bytes, got 5/);
});

test('bin/saturn --help answers quickly and lists the original flags', () => {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [SATURN_BIN, '--help'], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(r.status, 0);
  for (const flag of [
    '--master-addr',
    '--listen-addr',
    '--hmac-key',
    '--name',
    '--rounds',
    '--threshold',
    '--interval',
    '--log-level',
    '--config',
  ]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  assert.ok(ms < 10_000, `--help took ${ms} ms`); // ~0.3 s on an idle machine; the bound only catches a hang
});
