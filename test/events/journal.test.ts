import assert from 'node:assert/strict';
import { test } from 'node:test';
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

const AT = 1_714_564_800_123_456_789n;

test('emit numbers events in order and gives each to every sink, in subscription order', () => {
  const events = new EventJournal(new MemorySequence(), 'master');
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
