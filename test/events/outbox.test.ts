import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type SaturnEvent, eventToRecord } from '../../src/events/event.js';
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
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

test('pending events survive a reopen (no close: as after SIGKILL), finished ones do not', async () => {
  const path = tempFile();
  const first = await Outbox.open({ path });
  await first.append(range(1, 3));
  await first.append(range(4, 5));
  await first.done(2);
  await first.done(4);
  const second = await Outbox.open({ path });
  assert.deepEqual(seqs(second), [1, 3, 5]);
  assert.deepEqual(second.head(), event(1));
  assert.equal(second.high, 5);
  await second.close();
});

test('a group is one write: appending it again (a commit retried) adds nothing twice', async () => {
  const path = tempFile();
  const outbox = await Outbox.open({ path });
  await outbox.append(range(1, 3));
  await outbox.append(range(1, 5)); // 1-3 are in already
  assert.deepEqual(seqs(outbox), [1, 2, 3, 4, 5]);
  const adds = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"add"'));
  assert.equal(adds.length, 5);
  await outbox.close();
});

const addLine = (e: SaturnEvent) => `${JSON.stringify({ add: eventToRecord(e) })}\n`;

test('a torn last line (crash mid-write) is cut before anything is appended, and reported', async () => {
  const path = tempFile();
  const first = await Outbox.open({ path });
  await first.append(range(1, 2));
  appendFileSync(path, addLine(event(3)).slice(0, 40));
  const second = await Outbox.open({ path });
  assert.deepEqual(second.damage, [{ line: 3, record: 'add', sequence: 3, tail: true, lost: false }]);
  await second.append([event(4)]);
  const third = await Outbox.open({ path });
  assert.deepEqual(third.damage, []);
  assert.deepEqual(seqs(third), [1, 2, 4]);
  await third.close();
  await second.close();
});

test('a whole last record without its newline is terminated and kept', async () => {
  const path = tempFile();
  writeFileSync(path, addLine(event(1)) + addLine(event(2)).trimEnd());
  const outbox = await Outbox.open({ path });
  assert.deepEqual(outbox.damage, []);
  assert.deepEqual(seqs(outbox), [1, 2]);
  await outbox.append([event(3)]);
  assert.deepEqual(seqs(await Outbox.open({ path })), [1, 2, 3]);
  await outbox.close();
});

test('a record cut in half and followed by more records loses only itself, and says which event', async () => {
  const path = tempFile();
  // The old failure: a short write left half of event 2's record, and the next append followed it on the same line.
  writeFileSync(path, addLine(event(1)) + addLine(event(2)).slice(0, 60) + addLine(event(3)) + addLine(event(4)));
  const outbox = await Outbox.open({ path });
  assert.deepEqual(seqs(outbox), [1, 3, 4], 'event 3, on the damaged line, is recovered');
  assert.deepEqual(outbox.damage, [{ line: 2, record: 'add', sequence: 2, tail: false, lost: true }]);
  assert.equal(outbox.high, 4);
  await outbox.close();
});

test('damage that loses no event: a torn delivery mark, or a copy of an event that is whole elsewhere', async () => {
  const path = tempFile();
  writeFileSync(
    path,
    addLine(event(1)) + addLine(event(2)) + '{"done":1' + addLine(event(3)) + addLine(event(2)).slice(0, 50) + '\n',
  );
  const outbox = await Outbox.open({ path });
  assert.deepEqual(seqs(outbox), [1, 2, 3], 'event 1 will be delivered again: its mark is damaged');
  assert.deepEqual(
    outbox.damage.map((d) => [d.record, d.sequence, d.lost]),
    [
      ['done', 1, false],
      ['add', 2, false],
    ],
  );
  await outbox.close();
});

test('unreadable garbage is reported as a possible loss', async () => {
  const path = tempFile();
  writeFileSync(path, addLine(event(1)) + 'x\u0000\u0000garbage\n' + addLine(event(2)));
  const outbox = await Outbox.open({ path });
  assert.deepEqual(seqs(outbox), [1, 2]);
  assert.deepEqual(outbox.damage, [{ line: 2, record: 'unknown', sequence: undefined, tail: false, lost: true }]);
  await outbox.close();
});

test('bounded: when full the oldest is dropped and counted, also in the file', async () => {
  const path = tempFile();
  const outbox = await Outbox.open({ path, maxPending: 3 });
  assert.deepEqual((await outbox.append(range(1, 3))).dropped, []);
  assert.deepEqual(
    (await outbox.append([event(4)])).dropped.map((e) => e.sequence),
    [1],
  );
  assert.deepEqual(
    (await outbox.append([event(5)])).dropped.map((e) => e.sequence),
    [2],
  );
  assert.equal(outbox.droppedTotal, 2);
  assert.deepEqual(seqs(outbox), [3, 4, 5]);
  // A group larger than the bound keeps its newest events.
  assert.deepEqual(
    (await outbox.append(range(6, 10))).dropped.map((e) => e.sequence),
    [3, 4, 5, 6, 7],
  );
  assert.deepEqual(seqs(outbox), [8, 9, 10]);
  assert.deepEqual(seqs(await Outbox.open({ path, maxPending: 3 })), [8, 9, 10]);
  await outbox.close();
});

test('compaction keeps the file proportional to what is pending, and remembers the highest sequence', async () => {
  const path = tempFile();
  const outbox = await Outbox.open({ path, compactAfter: 10 });
  for (let s = 1; s <= 1000; s++) {
    await outbox.append([event(s)]);
    if (s > 3) await outbox.done(s - 3);
  }
  assert.deepEqual(seqs(outbox), [998, 999, 1000]);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(lines <= 1 + 3 + 2 * 10 + 2, `file has ${lines} lines`);
  assert.deepEqual(seqs(await Outbox.open({ path })), [998, 999, 1000]);
  for (const s of [998, 999, 1000]) await outbox.done(s);
  for (let i = 0; i < 10; i++) await outbox.append([event(1001 + i)]).then(() => outbox.done(1001 + i));
  const empty = await Outbox.open({ path });
  assert.equal(empty.depth, 0);
  assert.equal(empty.high, 1010, 'an empty outbox still knows the highest number it held');
  await outbox.close();
});

test('without a path the same bookkeeping happens in memory', async () => {
  const outbox = await Outbox.open({ path: undefined, maxPending: 2 });
  await outbox.append(range(1, 3));
  await outbox.done(2);
  assert.deepEqual(seqs(outbox), [3]);
  assert.equal(outbox.droppedTotal, 1);
});
