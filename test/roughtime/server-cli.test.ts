import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { queryServer } from '../../src/roughtime/client.js';
import { SATURN_BIN, SaturnProcess } from '../helpers/saturn-process.js';
import { testClock } from './test-server.js';

const run = promisify(execFile);

async function serveAndQuery(args: string[], expectWarning: boolean): Promise<void> {
  const server = SaturnProcess.start(['roughtime', 'serve', '--listen-addr', '127.0.0.1:0', '--workers', '1', ...args]);
  try {
    const line = await server.waitForLine(
      (l) => l.stream === 'stdout' && l.text.startsWith('roughtime server listening'),
    );
    const [, port, key] = /127\.0\.0\.1:(\d+) public key (\S+)$/.exec(line.text)!;
    assert.equal(
      server.lines.some((l) => l.stream === 'stderr' && /NOT FOR PRODUCTION/.test(l.text)),
      expectWarning,
    );
    for (const versions of [[1], [0x8000000c], 'google'] as const) {
      const answer = await queryServer(
        {
          name: 'cli',
          host: '127.0.0.1',
          port: Number(port),
          publicKey: new Uint8Array(Buffer.from(key!, 'base64')),
          versions,
        },
        { clock: testClock(), backoff: { initialMs: 2000 } },
      );
      assert.equal(answer.result.valid, true, answer.result.reason ?? '');
    }
    await server.stop('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output());
    assert.ok(
      server.lines.some((l) => l.text.startsWith('roughtime server stopped: {"received":3,"answered":3')),
      server.output(),
    );
  } finally {
    await server.stop('SIGKILL');
  }
}

test('saturn keygen writes a 0600 key file and prints its public key; saturn roughtime serve answers under it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'saturn-keygen-'));
  try {
    const file = path.join(dir, 'roughtime.key');
    const { stdout } = await run(process.execPath, [SATURN_BIN, 'keygen', '--out', file]);
    assert.match(stdout, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await assert.rejects(
      run(process.execPath, [SATURN_BIN, 'keygen', '--out', file]),
      (error: { code: number; stderr: string }) => error.code === 2 && /already exists/.test(error.stderr),
    );
    await serveAndQuery(['--key-file', file], false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without --key-file the server prints an ad hoc public key and warns it is not for production', async () => {
  await serveAndQuery([], true);
});

test('saturn roughtime serve and --roughtime-listen on a busy port exit 2 with one sentence (no worker left running)', async () => {
  const { createSocket } = await import('node:dgram');
  const holder = createSocket('udp4');
  await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
  const busy = `127.0.0.1:${holder.address().port}`;
  try {
    for (const [option, args] of [
      ['--listen-addr', ['roughtime', 'serve', '--listen-addr', busy, '--workers', '1']],
      [
        '--roughtime-listen',
        ['--hmac-key', '0123456789abcdef', '--listen-addr', '127.0.0.1:0', '--roughtime-listen', busy],
      ],
    ] as const) {
      // execFile's timeout would kill a process the workers keep alive: that is the failure this catches.
      const failure = await run(process.execPath, [SATURN_BIN, ...args], { timeout: 60_000 }).then(
        () => assert.fail(`${args.join(' ')} started on a busy port`),
        (error: { code: number | null; killed: boolean; stderr: string }) => error,
      );
      assert.equal(failure.killed, false, `${args[0]}: still running after 60 s`);
      assert.equal(failure.code, 2, failure.stderr);
      const errors = failure.stderr.split('\n').filter((line) => line.startsWith('saturn:'));
      assert.deepEqual(errors, [`saturn: ${option} ${busy}: the address is already in use`]);
    }
  } finally {
    holder.close();
  }
});
