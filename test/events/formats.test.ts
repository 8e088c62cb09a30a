import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type SaturnEvent, eventLlogLine } from '../../src/events/event.js';
import { formatLlog } from '../../src/log/llog.js';
import {
  alertmanagerBody,
  alertmanagerRepost,
  eventJsonLine,
  jsonBody,
  summaryText,
  webhookBody,
} from '../../src/events/formats.js';

const AT = 1_714_564_800_123_456_789n;
/** The post 10 s after the event, holding the alert for 4 min. */
const NOW = AT + 10_000_000_000n;
const CONTEXT = { now: NOW, holdNs: 240e9, generatorUrl: 'http://master.example:9123/' };
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
      frequencyPpm: null,
      frequencyErrorPpm: null,
      agree: null,
      of: null,
      repeat: false,
      detail: null,
      time: '2024-05-01T12:00:00.123456789Z',
    });
  });

  test('a drift-rate alert carries the frequency in every format, and its recovery resolves it', () => {
    const fast: SaturnEvent = {
      ...event(10, 'drift_rate'),
      offsetNs: 10e6,
      frequencyPpm: 5000,
      frequencyErrorPpm: 2,
      detail: 'drifts +5,000 ppm ± 2 ppm, over 100 ms in about 18 s',
    };
    assert.deepEqual([jsonBody(fast).frequencyPpm, jsonBody(fast).frequencyErrorPpm], [5000, 2]);
    assert.equal(
      summaryText(fast),
      'saturn #10: web-3 (127.0.0.1:4000) drifts too fast offset +10.000 ms ± 0.200 ms, threshold 100.000 ms: drifts +5,000 ppm ± 2 ppm, over 100 ms in about 18 s',
    );
    assert.match(summaryText({ ...fast, repeat: true }), /still drifts too fast/);
    const [firing] = alertmanagerBody(fast, CONTEXT) as any[];
    assert.deepEqual(
      [firing.labels.alertname, firing.annotations.frequency_ppm, firing.endsAt],
      ['SaturnDriftRate', '5000', '2024-05-01T12:04:10.123456789Z'],
    );
    const [resolved] = alertmanagerBody({ ...fast, kind: 'drift_rate_recovered', sequence: 11 }, CONTEXT) as any[];
    assert.deepEqual(resolved.labels, firing.labels);
    assert.equal(resolved.endsAt, '2024-05-01T12:00:00.123456789Z');
  });

  test('a falseticker names the node and the vote, in llog, json and Alertmanager forms', () => {
    const named: SaturnEvent = {
      ...event(9, 'falseticker'),
      node: { id: 'master-1', addr: '10.0.0.1:4123' },
      offsetNs: 500_120_000,
      errorNs: 310_000,
      rttNs: undefined,
      thresholdNs: undefined,
      agree: 4,
      of: 5,
    };
    const line = eventLlogLine(named);
    assert.equal(
      formatLlog(line.level, line.message, line.fields),
      '~ ERROR -- clock disagrees with the majority -- agree="4" error="0.31" event="falseticker" name="master-1" of="5" offset="500.12" sequence="9"',
    );
    assert.deepEqual([jsonBody(named).agree, jsonBody(named).of], [4, 5]);
    const [alert] = JSON.parse(webhookBody(named, 'alertmanager', CONTEXT));
    assert.equal(alert.labels.alertname, 'SaturnFalseticker');
    assert.equal(alert.labels.node, 'master-1');
    assert.equal(alert.annotations.agree, '4 of 5');
    assert.match(
      alert.annotations.summary,
      /master-1 \(10\.0\.0\.1:4123\) clock disagrees with the majority \(4 of 5 agree\)/,
    );
    const [resolved] = JSON.parse(
      webhookBody({ ...named, kind: 'falseticker_recovered', sequence: 10 }, 'alertmanager', CONTEXT),
    );
    assert.deepEqual(resolved.labels, alert.labels, 'the recovery resolves the same alert');
    assert.ok(resolved.endsAt);
  });

  test('slack is a text message', () => {
    assert.deepEqual(JSON.parse(webhookBody(event(7), 'slack', CONTEXT)), {
      text: 'saturn #7: web-3 (127.0.0.1:4000) over threshold offset +750.123 ms ± 0.200 ms, threshold 100.000 ms',
    });
    assert.match(summaryText(event(9, 'slave_lost')), /lost/);
  });

  test("slack: a node's name cannot ping a channel, link or format: &, < and > are escaped as Slack requires", () => {
    const named = {
      ...event(7),
      node: { id: '<!channel> <https://evil.example|log in> & <@U123>', addr: '127.0.0.1:4000' },
    };
    assert.deepEqual(JSON.parse(webhookBody(named, 'slack', CONTEXT)), {
      text:
        'saturn #7: &lt;!channel&gt; &lt;https://evil.example|log in&gt; &amp; &lt;@U123&gt; (127.0.0.1:4000) over threshold' +
        ' offset +750.123 ms ± 0.200 ms, threshold 100.000 ms',
    });
  });

  test('alertmanager: Prometheus labels (no instance), the address as an annotation, endsAt ahead while firing', () => {
    const [firing] = alertmanagerBody(event(7), CONTEXT) as any[];
    assert.deepEqual(firing.labels, {
      alertname: 'SaturnClockOffset',
      severity: 'warning',
      node: 'web-3',
    });
    assert.equal(firing.annotations.node_addr, '127.0.0.1:4000');
    assert.equal(firing.annotations.reporter, 'master', 'who reports it is said, not part of its identity');
    assert.equal(firing.annotations.sequence, '7');
    assert.equal(firing.annotations.offset_seconds, '0.750123');
    assert.equal(firing.startsAt, '2024-05-01T12:00:00.123456789Z');
    assert.equal(firing.endsAt, '2024-05-01T12:04:10.123456789Z', 'the time of the post + the hold');
    assert.equal(firing.generatorURL, 'http://master.example:9123/');
    assert.equal((alertmanagerBody(event(7), { now: NOW, holdNs: 1e9 })[0] as any).generatorURL, undefined);
  });

  test('alertmanager: the resolving event posts the same labels with endsAt = its time', () => {
    const [firing] = alertmanagerBody(event(7), CONTEXT) as any[];
    const [resolved] = JSON.parse(webhookBody(event(8, 'recovered'), 'alertmanager', CONTEXT));
    assert.deepEqual(resolved.labels, firing.labels);
    assert.equal(resolved.endsAt, '2024-05-01T12:00:00.123456789Z');
  });

  test('alertmanager: an alert nothing resolves (a moment, not a state) is posted without endsAt (its resolve_timeout ends it)', () => {
    const [step] = alertmanagerBody(event(9, 'clock_step'), CONTEXT) as any[];
    assert.equal(step.labels.alertname, 'SaturnClockStep');
    assert.equal(step.labels.severity, 'warning');
    assert.equal(step.endsAt, undefined);
    const [majority] = alertmanagerBody(event(10, 'no_majority'), CONTEXT) as any[];
    assert.equal(majority.labels.severity, 'critical');
    assert.ok(majority.endsAt, 'no_majority_recovered resolves it: held like any firing alert');
  });

  test('alertmanager: reference_clock_recovered resolves the SaturnReferenceClockWrong alert its wrong raised', () => {
    const [wrong] = alertmanagerBody(event(9, 'reference_clock_wrong'), CONTEXT) as any[];
    const [recovered] = alertmanagerBody(event(10, 'reference_clock_recovered'), CONTEXT) as any[];
    assert.deepEqual(recovered.labels, wrong.labels);
    assert.equal(wrong.labels.severity, 'critical');
    assert.ok(recovered.endsAt !== undefined && recovered.endsAt <= wrong.endsAt);
  });

  test('alertmanager: a re-post keeps when each alert began and moves endsAt ahead', () => {
    const reposted = JSON.parse(
      alertmanagerRepost([{ startsAt: AT - 60_000_000_000n, event: event(12) }], {
        ...CONTEXT,
        now: NOW + 60_000_000_000n,
      }),
    );
    assert.equal(reposted.length, 1);
    assert.equal(reposted[0].startsAt, '2024-05-01T11:59:00.123456789Z');
    assert.equal(reposted[0].endsAt, '2024-05-01T12:05:10.123456789Z');
    assert.equal(reposted[0].annotations.sequence, '12', 'the latest event of the alert');
  });

  test('a JSON stdout line is the json body after the level and message, time first', () => {
    const line = eventJsonLine(event(7), 'WARN', 'slave offset is over threshold');
    assert.deepEqual(Object.keys(line).slice(0, 5), ['time', 'level', 'msg', 'event', 'sequence']);
    assert.deepEqual(line, { level: 'WARN', msg: 'slave offset is over threshold', ...jsonBody(event(7)) });
  });
});
