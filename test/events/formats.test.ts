import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SaturnEvent } from '../../src/events/event.js';
import { alertmanagerBody, eventJsonLine, jsonBody, summaryText, webhookBody } from '../../src/events/formats.js';

const AT = 1_714_564_800_123_456_789n;
const event = (sequence: number, kind: SaturnEvent['kind'] = 'drift'): SaturnEvent => ({
  kind,
  at: AT,
  sequence,
  reporter: 'master',
  node: { id: 'web-3', addr: '127.0.0.1:4000' },
  offsetNs: 750_123_000,
  errorNs: 200_000,
  rttNs: 400_000,
  thresholdNs: 100e6,
});

describe('formats', () => {
  test('json carries event, sequence, node id and address, offset, error, threshold and time', () => {
    assert.deepEqual(jsonBody(event(7)), {
      event: 'drift',
      sequence: 7,
      reporter: 'master',
      node: { id: 'web-3', addr: '127.0.0.1:4000' },
      offsetSeconds: 0.750123,
      errorSeconds: 0.0002,
      rttSeconds: 0.0004,
      thresholdSeconds: 0.1,
      repeat: false,
      detail: null,
      time: '2024-05-01T12:00:00.123456789Z',
    });
  });

  test('slack is a text message', () => {
    assert.deepEqual(JSON.parse(webhookBody(event(7), 'slack')), {
      text: 'saturn #7: web-3 (127.0.0.1:4000) over threshold offset +750.123 ms ± 0.200 ms, threshold 100.000 ms',
    });
  });

  test("alertmanager posts Alertmanager's alert list; recovered resolves the drift alert", () => {
    const [firing] = alertmanagerBody(event(7)) as any[];
    assert.equal(firing.labels.alertname, 'SaturnClockOffset');
    assert.equal(firing.labels.node, 'web-3');
    assert.equal(firing.labels.instance, '127.0.0.1:4000');
    assert.equal(firing.startsAt, '2024-05-01T12:00:00.123456789Z');
    assert.equal(firing.endsAt, undefined);
    assert.equal(firing.annotations.sequence, '7');
    const [resolved] = JSON.parse(webhookBody(event(8, 'recovered'), 'alertmanager'));
    assert.deepEqual(resolved.labels, firing.labels);
    assert.equal(resolved.endsAt, resolved.startsAt);
    assert.match(summaryText(event(9, 'slave_lost')), /lost/);
  });

  test('a JSON stdout line is the json body after the level and message, time first', () => {
    const line = eventJsonLine(event(7), 'WARN', 'slave offset is over threshold');
    assert.deepEqual(Object.keys(line).slice(0, 5), ['time', 'level', 'msg', 'event', 'sequence']);
    assert.deepEqual(line, { level: 'WARN', msg: 'slave offset is over threshold', ...jsonBody(event(7)) });
  });
});
