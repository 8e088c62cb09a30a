import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SaturnEvent } from '../../src/events/event.js';
import { Outbox } from '../../src/events/outbox.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-outbox-'));
  dirs.push(dir);
  return join(dir, 'outbox.log');
}

const event = (sequence: number): SaturnEvent => ({
  kind: 'drift',
  at: 1_700_000_000_000_000_000n + BigInt(sequence),
  sequence,
  reporter: 'master',
  node: { id: 'n', addr: '127.0.0.1:1' },
  offsetNs: sequence,
});
const seqs = (o: Outbox) => o.pending().map((e) => e.sequence);

test('pending events survive a reopen (no close: as after SIGKILL), finished ones do not', () => {
  const path = tempFile();
  const first = new Outbox({ path });
  for (let s = 1; s <= 5; s++) first.add(event(s));
  first.done(2);
  first.done(4);
  const second = new Outbox({ path });
  assert.deepEqual(seqs(second), [1, 3, 5]);
  assert.deepEqual(second.head(), event(1));
  second.close();
});

test('a torn last line (crash mid-write) is skipped and the file is clean again after open', () => {
  const path = tempFile();
  const first = new Outbox({ path });
  first.add(event(1));
  first.add(event(2));
  appendFileSync(path, '{"add":{"kind":"dri');
  const second = new Outbox({ path });
  assert.equal(second.unreadableLines, 1);
  second.add(event(3));
  const third = new Outbox({ path });
  assert.equal(third.unreadableLines, 0);
  assert.deepEqual(seqs(third), [1, 2, 3]);
  third.close();
  second.close();
});

test('bounded: when full the oldest is dropped and counted, also in the file', () => {
  const path = tempFile();
  const outbox = new Outbox({ path, maxPending: 3 });
  for (let s = 1; s <= 3; s++) assert.deepEqual(outbox.add(event(s)).dropped, []);
  assert.deepEqual(
    outbox.add(event(4)).dropped.map((e) => e.sequence),
    [1],
  );
  assert.deepEqual(
    outbox.add(event(5)).dropped.map((e) => e.sequence),
    [2],
  );
  assert.equal(outbox.droppedTotal, 2);
  assert.deepEqual(seqs(outbox), [3, 4, 5]);
  assert.deepEqual(seqs(new Outbox({ path, maxPending: 3 })), [3, 4, 5]);
  outbox.close();
});

test('compaction keeps the file proportional to what is pending', () => {
  const path = tempFile();
  const outbox = new Outbox({ path, compactAfter: 10 });
  for (let s = 1; s <= 1000; s++) {
    outbox.add(event(s));
    if (s > 3) outbox.done(s - 3);
  }
  assert.deepEqual(seqs(outbox), [998, 999, 1000]);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(lines <= 3 + 2 * 10 + 2, `file has ${lines} lines`);
  assert.deepEqual(seqs(new Outbox({ path })), [998, 999, 1000]);
  outbox.close();
});

test('without a path the same bookkeeping happens in memory', () => {
  const outbox = new Outbox({ path: undefined, maxPending: 2 });
  outbox.add(event(1));
  outbox.add(event(2));
  outbox.add(event(3));
  outbox.done(2);
  assert.deepEqual(seqs(outbox), [3]);
  assert.equal(outbox.droppedTotal, 1);
});
