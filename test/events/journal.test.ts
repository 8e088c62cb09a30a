import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EventJournal } from '../../src/events/journal.js';
import {
  EVENT_KINDS,
  type SaturnEvent,
  eventFromRecord,
  eventLlogLine,
  eventToRecord,
} from '../../src/events/event.js';
import { isoNanos } from '../../src/clock/clock.js';
import { formatLlog } from '../../src/log/llog.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { SimClock } from '../../src/clock/sim-clock.js';
import { Outbox } from '../../src/events/outbox.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { testLogger } from '../helpers/sinks.js';
import { closeTestJournals, driftInput, openTestJournal } from '../helpers/journal.js';

const AT = 1_714_564_800_123_456_789n;

after(closeTestJournals);

test('emit numbers events in order and gives each to every sink, in subscription order', async () => {
  const events = new EventJournal({
    reporter: 'master',
    sequence: new MemorySequence(),
    clock: new SimClock(),
    logger: testLogger().logger,
  });
  const seen: string[] = [];
  events.subscribe((e) => seen.push(`a${e.sequence}`));
  events.subscribe((e) => seen.push(`b${e.sequence}`));
  const first = events.emit({
    kind: 'drift',
    at: AT,
    node: { id: 'web-3', addr: '10.0.0.3:4123' },
    offsetNs: 750e6,
    errorNs: 1e5,
    thresholdNs: 100e6,
  });
  const second = events.emit({ kind: 'reference_clock_wrong', at: AT - 5n, detail: 'midpoint outside the bound' });
  await events.flushed();
  assert.equal(first.sequence, 1);
  assert.equal(second.sequence, 2); // an earlier `at` does not reorder: sequence is the order
  assert.equal(second.reporter, 'master');
  assert.deepEqual(seen, ['a1', 'b1', 'a2', 'b2']);
  assert.equal(events.counts.get('drift'), 1);
  assert.equal(events.counts.get('reference_clock_wrong'), 1);
});

test('llog lines keep the original message and fields, plus event and sequence', () => {
  const drift: SaturnEvent = {
    kind: 'drift',
    at: AT,
    sequence: 12,
    reporter: 'master',
    node: { id: 'web-3', addr: '10.42.0.9:4123' },
    offsetNs: -4984391.125,
    errorNs: 250_000,
    rttNs: 500_000,
    thresholdNs: 100e6,
  };
  const { level, message, fields } = eventLlogLine(drift);
  assert.equal(
    formatLlog(level, message, fields),
    '~ WARN -- slave offset is over threshold -- error="0.25" event="drift" ip="10.42.0.9" name="web-3" offset="-4.984391125" rtt="0.5" sequence="12" threshold="100"',
  );
  const unreachable = eventLlogLine({
    kind: 'master_unreachable',
    at: AT,
    sequence: 3,
    reporter: 'web-1',
    node: { id: 'master', addr: '[::1]:4123' },
    detail: 'no answer',
  });
  assert.equal(
    formatLlog(unreachable.level, unreachable.message, unreachable.fields),
    '~ WARN -- master unreachable -- event="master_unreachable" master="[::1]:4123" name="web-1" reason="no answer" sequence="3"',
  );
  const fast = eventLlogLine({
    ...drift,
    kind: 'drift_rate',
    offsetNs: 10e6,
    rttNs: undefined,
    frequencyPpm: 5000.00042,
    frequencyErrorPpm: 1.5,
    detail: 'drifts +5,000 ppm ± 1.5 ppm, over 100 ms in about 18 s',
  });
  assert.equal(
    formatLlog(fast.level, fast.message, fast.fields),
    '~ WARN -- slave clock drifts too fast -- error="0.25" event="drift_rate" frequency="5000" frequency_error="1.5" ip="10.42.0.9" name="web-3" offset="10" reason="drifts +5,000 ppm ± 1.5 ppm, over 100 ms in about 18 s" sequence="12" threshold="100"',
  );
  for (const kind of EVENT_KINDS)
    assert.ok(eventLlogLine({ kind, at: AT, sequence: 1, reporter: 'x' }).message.length > 0);
});

test('isoNanos keeps every nanosecond, also before 1970', () => {
  assert.equal(isoNanos(AT), '2024-05-01T12:00:00.123456789Z');
  assert.equal(isoNanos(0n), '1970-01-01T00:00:00.000000000Z');
  assert.equal(isoNanos(-1n), '1969-12-31T23:59:59.999999999Z');
});

test('events survive the outbox record round trip, bigint instant included', () => {
  const event: SaturnEvent = {
    kind: 'slave_lost',
    at: AT,
    sequence: 99,
    reporter: 'master',
    node: { id: 'db-1', addr: '10.0.0.1:1' },
  };
  assert.deepEqual(eventFromRecord(JSON.parse(JSON.stringify(eventToRecord(event)))), event);
  assert.throws(() => eventFromRecord({ kind: 'nope', sequence: 1, at: '1', reporter: 'x' }));
});

test('emit does no I/O: the event is queued and shown only after its group is durable', async () => {
  const fs = new FaultyFs();
  const { journal, stdout } = await openTestJournal({}, fs);
  const writesBefore = fs.writeLog.length;
  fs.holdSyncs = true;
  const event = journal.emit(driftInput(1));
  assert.equal(event.sequence, 1);
  assert.equal(fs.writeLog.length, writesBefore, 'nothing written inside emit()');
  assert.equal(journal.uncommitted, 1);
  // The commit reaches an fsync, which the disk holds: written, not yet durable.
  await fs.heldSync();
  assert.ok(fs.writeLog.length > writesBefore, 'the commit wrote');
  assert.equal(stdout.lines.length, 0, 'not shown before the fsync');
  fs.releaseSyncs();
  await journal.flushed();
  assert.equal(journal.uncommitted, 0);
  assert.equal(stdout.lines.length, 1);
  assert.match(stdout.lines[0]!, /event="drift".*sequence="1"/);
});

test('a burst of 1,000 events is committed in a few groups: a few fsyncs, not a thousand', async () => {
  const fs = new FaultyFs();
  const { journal, stdout } = await openTestJournal({}, fs);
  const outboxSyncsBefore = fs.syncCount('outbox-');
  for (let i = 1; i <= 1000; i++) journal.emit(driftInput(i));
  await journal.flushed();
  const outboxSyncs = fs.syncCount('outbox-') - outboxSyncsBefore;
  assert.ok(outboxSyncs <= 3, `${outboxSyncs} outbox fsyncs for 1,000 events`);
  assert.ok(journal.stats.commits <= 3, `${journal.stats.commits} commits`);
  assert.equal(fs.syncCount('sequence'), 1, 'one block of numbers reserved');
  const shown = stdout.lines.map((l) => Number(/sequence="(\d+)"/.exec(l)![1]));
  assert.deepEqual(
    shown,
    Array.from({ length: 1000 }, (_, i) => i + 1),
    'every event shown once, in sequence order',
  );
});

test('events emitted while a commit is under way form the next group', async () => {
  const fs = new FaultyFs();
  const { journal, stdout } = await openTestJournal({}, fs);
  fs.holdSyncs = true;
  journal.emit(driftInput(1));
  await fs.heldSync();
  for (let i = 2; i <= 50; i++) journal.emit(driftInput(i));
  const syncsBefore = fs.syncCount('outbox-');
  fs.releaseSyncs();
  await journal.flushed();
  assert.equal(journal.stats.commits, 2, 'the first event alone, then the 49 that queued behind it');
  assert.equal(fs.syncCount('outbox-') - syncsBefore, 2, 'one outbox fsync per group');
  assert.equal(stdout.lines.length, 50);
});

test('a full disk: a short or failed write is no commit; events stay queued, unshown, and are retried', async () => {
  const fs = new FaultyFs();
  const { journal, stdout, clock, log, stateDir, webhooks } = await openTestJournal({}, fs);
  journal.emit(driftInput(1));
  await journal.flushed();
  fs.spaceLeft = 150; // less than one record: the next append comes up short, then fails
  journal.emit(driftInput(2));
  journal.emit(driftInput(3));
  await new Promise((resolve) => setImmediate(resolve));
  while (journal.stats.commitFailures.size === 0) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(
    fs.writeLog.some(([name, asked, wrote]) => name.startsWith('outbox-') && wrote > 0 && wrote < asked),
    'a short write happened',
  );
  assert.equal(stdout.lines.length, 1, 'events 2 and 3 are not shown');
  assert.equal(journal.uncommitted, 2);
  assert.equal(journal.stats.commitFailures.get('ENOSPC'), 1);
  const error = log.records().find((r) => r.code === 'SATURN_ERR_STATE_WRITE');
  assert.equal(error?.level, 50, 'logged at ERROR');
  assert.equal(error?.errno, 'ENOSPC');
  // The half record was cut off: the file holds whole records only.
  const outboxFile = join(
    stateDir,
    readdirSync(stateDir).find((f) => f.startsWith('outbox-'))!,
  );
  const text = readFileSync(outboxFile, 'utf8');
  assert.ok(text.endsWith('\n'));
  for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
  // More events while the disk is full: kept too; then space comes back and the retry commits them all.
  clock.advance(1e9);
  journal.emit(driftInput(4));
  clock.advance(60e9);
  fs.spaceLeft = Infinity;
  clock.advance(60e9);
  await journal.flushed();
  assert.deepEqual(
    stdout.lines.map((l) => Number(/sequence="(\d+)"/.exec(l)![1])),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    webhooks[0]!.outbox.pending().map((e) => e.sequence),
    [1, 2, 3, 4],
  );
  const reopened = await Outbox.open({ path: outboxFile });
  assert.deepEqual(
    reopened.pending().map((e) => e.sequence),
    [1, 2, 3, 4],
  );
  assert.deepEqual(reopened.damage, []);
  await reopened.close();
});

test('a failing fsync is no commit either', async () => {
  const fs = new FaultyFs();
  const { journal, stdout, clock } = await openTestJournal({}, fs);
  fs.failSync = true;
  journal.emit(driftInput(1));
  while (journal.stats.commitFailures.size === 0) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(journal.stats.commitFailures.get('EIO'), 1);
  assert.equal(stdout.lines.length, 0);
  fs.failSync = false;
  clock.advance(60e9);
  await journal.flushed();
  assert.equal(stdout.lines.length, 1);
});

test('at shutdown, events the disk still refuses are logged at ERROR, one by one', async () => {
  const fs = new FaultyFs();
  const { journal, close, log } = await openTestJournal({}, fs);
  fs.spaceLeft = 0;
  journal.emit(driftInput(1));
  journal.emit(driftInput(2));
  while (journal.stats.commitFailures.size === 0) await new Promise((resolve) => setImmediate(resolve));
  await close();
  const lost = log.records().filter((r) => r.msg === 'event lost at shutdown: the state dir did not take it');
  assert.deepEqual(
    lost.map((r) => [r.level, r.event.sequence]),
    [
      [50, 1],
      [50, 2],
    ],
  );
});

test('an event raised after the journal closed is logged at ERROR, not dropped in silence', async () => {
  const { journal, log } = await openTestJournal();
  await journal.close();
  journal.emit(driftInput(1));
  const late = log.records().find((r) => r.msg === 'event raised after the journal closed: not recorded');
  assert.equal(late?.level, 50);
  assert.equal(late?.event.node.id, 'web-1');
});
