import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemorySequence, SEQUENCE_FILE, SequenceStore } from '../../src/events/sequence-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-seq-'));
  dirs.push(dir);
  return dir;
}

test('in memory: 1, 2, 3 …', () => {
  const seq = new MemorySequence();
  assert.deepEqual([seq.next(), seq.next(), seq.next()], [1, 2, 3]);
});

test('numbers are handed out in memory; a block is reserved on disk when a number beyond it is committed', async () => {
  const dir = tempDir();
  const store = await SequenceStore.open(dir, { blockSize: 10 });
  assert.equal(store.next(), 1);
  assert.throws(() => readFileSync(join(dir, SEQUENCE_FILE)), /ENOENT/, 'next() does no I/O');
  await store.reserve(1);
  assert.equal(readFileSync(join(dir, SEQUENCE_FILE), 'utf8'), '11\n');
  for (let i = 2; i <= 10; i++) assert.equal(store.next(), i);
  await store.reserve(10);
  assert.equal(readFileSync(join(dir, SEQUENCE_FILE), 'utf8'), '11\n');
  assert.equal(store.next(), 11);
  await store.reserve(11);
  assert.equal(readFileSync(join(dir, SEQUENCE_FILE), 'utf8'), '21\n');
  // A group that runs far past the block reserves beyond its last number.
  for (let i = 12; i <= 45; i++) store.next();
  await store.reserve(45);
  assert.equal(readFileSync(join(dir, SEQUENCE_FILE), 'utf8'), '55\n');
});

test('never reused across abandoned processes (the object is dropped as a SIGKILL would)', async () => {
  const dir = tempDir();
  const seen: number[] = [];
  // Many "runs" of random length, none shutting down cleanly; what was committed was reserved.
  for (let run = 0; run < 50; run++) {
    const store = await SequenceStore.open(dir, { blockSize: 7 });
    const take = (run * 13) % 17;
    for (let i = 0; i < take; i++) {
      const n = store.next();
      await store.reserve(n);
      seen.push(n);
    }
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `${seen[i]} after ${seen[i - 1]}`);
});

test('a state dir with garbage in the counter refuses to start, rather than guess', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, SEQUENCE_FILE), 'twelve\n');
  await assert.rejects(SequenceStore.open(dir), /does not hold a sequence number/);
});
