import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { guardedStream } from '../../src/log/guarded-stream.js';
import { SATURN_BIN } from '../helpers/saturn-process.js';

test('a failed stream is said once, later writes are dropped, and nothing throws', () => {
  const written: string[] = [];
  const reports: string[] = [];
  const stream = Object.assign(new EventEmitter(), { write: (text: string) => (written.push(text), true) });
  const sink = guardedStream(stream, 'stdout', (sentence) => reports.push(sentence));
  sink.write('one\n');
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  stream.emit('error', epipe); // without the guard's listener this would throw
  stream.emit('error', epipe);
  sink.write('two\n');
  assert.deepEqual(written, ['one\n']);
  assert.equal(reports.length, 1);
  assert.match(
    reports[0]!,
    /^saturn: stdout failed \(EPIPE\): its lines are dropped from now on; the node keeps running/,
  );
});

test('the real binary keeps running when the reader of its stdout goes away (EPIPE), and stops cleanly', async () => {
  const child = spawn(process.execPath, [SATURN_BIN, 'demo', '--interval', '100ms', '--duration', '4s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await once(child.stdout, 'data'); // it is running and printing
  child.stdout.destroy(); // the reader goes away: its next lines meet a closed pipe
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /saturn: stdout failed \(EPIPE\): its lines are dropped from now on/);
  assert.doesNotMatch(stderr, /Unhandled 'error' event|\n\s+at /);
});

test('a one-shot command whose reader has gone (saturn ... | head) ends quietly: no sentence about a node that keeps running', async () => {
  const child = spawn(process.execPath, [SATURN_BIN, 'roughtime', 'serve', '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy(); // closed before the child has started, so its first write meets a closed pipe
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
});
