import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BufferedSink } from '../../src/log/buffered-sink.js';

const MODULE = new URL('../../src/log/buffered-sink.js', import.meta.url).href;

/** A sink that keeps each write it is handed. */
function recorder() {
  const writes: string[] = [];
  return { writes, sink: { write: (text: string) => writes.push(text) } };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('the lines of one turn reach the sink in one write, in order, after the turn', async () => {
  const { writes, sink } = recorder();
  const buffered = new BufferedSink(sink);
  buffered.write('a\n');
  buffered.write('b\n');
  buffered.write('c\n');
  assert.deepEqual(writes, [], 'nothing written during the turn');
  await nextTurn();
  assert.deepEqual(writes, ['a\nb\nc\n']);
  buffered.write('d\n');
  await nextTurn();
  assert.deepEqual(writes, ['a\nb\nc\n', 'd\n'], 'the next turn gets its own write');
  await nextTurn();
  assert.equal(writes.length, 2, 'an empty turn writes nothing');
});

test('a burst larger than the limit is written as it grows, whole and in order', async () => {
  const { writes, sink } = recorder();
  const buffered = new BufferedSink(sink, 1000);
  const lines = Array.from({ length: 10_000 }, (_, i) => `~ INFO -- slave offset -- name="n${i}" offset="${i}"\n`);
  for (const line of lines) buffered.write(line);
  assert.ok(writes.length > 100, `written during the burst: ${writes.length} writes`);
  for (const text of writes) assert.ok(text.length < 1000 + 60, 'no write much over the limit');
  await nextTurn();
  assert.equal(writes.join(''), lines.join(''), 'every line, whole, in order');
  for (const text of writes) assert.ok(text.endsWith('\n'), 'each write ends on a line end');
});

test('flush() writes what waits at once, and nothing when nothing waits', async () => {
  const { writes, sink } = recorder();
  const buffered = new BufferedSink(sink);
  buffered.flush();
  assert.deepEqual(writes, []);
  buffered.write('first\n');
  buffered.flush();
  assert.deepEqual(writes, ['first\n']);
  await nextTurn();
  assert.deepEqual(writes, ['first\n'], 'the scheduled flush finds nothing left');
});

test('a limit that is not a positive integer is a RangeError naming it', () => {
  for (const bad of [0, -1, 1.5, Number.NaN])
    assert.throws(() => new BufferedSink({ write: () => true }, bad), /maxBytes/);
});

/** Runs a process that writes 5,000 lines to a buffered stdout and then ends as `how` says. */
function child(how: string) {
  const script = `
    import { BufferedSink, flushAtExit } from ${JSON.stringify(MODULE)};
    const out = new BufferedSink(process.stdout, 1 << 20);
    flushAtExit(out);
    for (let i = 0; i < 5000; i++) out.write('line ' + i + '\\n');
    ${how}
  `;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

const expected = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');

test('lines still waiting are written when the process exits: process.exit(), an uncaught exception', () => {
  const exited = child('process.exit(3);');
  assert.equal(exited.status, 3);
  assert.equal(exited.stdout, expected, 'process.exit() flushes');
  const thrown = child("throw new Error('boom');");
  assert.equal(thrown.status, 1);
  assert.match(thrown.stderr, /boom/);
  assert.equal(thrown.stdout, expected, 'an uncaught exception flushes');
  const later = child("setTimeout(() => { throw new Error('later'); }, 10);");
  assert.equal(later.status, 1);
  assert.equal(later.stdout, expected);
});
