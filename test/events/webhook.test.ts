import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SaturnEvent } from '../../src/events/event.js';
import { Outbox } from '../../src/events/outbox.js';
import {
  WebhookTarget,
  alertmanagerBody,
  classifyStatus,
  jsonBody,
  redactUrl,
  retryAfterMs,
  summaryText,
  webhookBody,
} from '../../src/events/webhook.js';
import { testLogger } from '../helpers/sinks.js';
import { SimClock } from '../../src/clock/sim-clock.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

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
const FAST = { initialMs: 20, factor: 2, maxMs: 200, jitter: 0.5 };

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
    const [firing] = alertmanagerBody(fast) as any[];
    assert.deepEqual(
      [firing.labels.alertname, firing.annotations.frequency_ppm, firing.endsAt],
      ['SaturnDriftRate', '5000', undefined],
    );
    const [resolved] = alertmanagerBody({ ...fast, kind: 'drift_rate_recovered', sequence: 11 }) as any[];
    assert.deepEqual(resolved.labels, firing.labels);
    assert.equal(resolved.endsAt, resolved.startsAt);
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
});

describe('retry rule', () => {
  test('2xx delivered; 429 and 5xx retried; other statuses rejected', () => {
    assert.equal(classifyStatus(204, undefined).kind, 'delivered');
    assert.equal(classifyStatus(429, 3000).kind, 'retry');
    assert.equal(classifyStatus(503, undefined).kind, 'retry');
    for (const status of [301, 400, 401, 404, 410, 422])
      assert.equal(classifyStatus(status, undefined).kind, 'rejected');
  });

  test('Retry-After in seconds or as an HTTP date, capped at an hour', () => {
    assert.equal(retryAfterMs('3', AT), 3000);
    assert.equal(retryAfterMs(undefined, AT), undefined);
    assert.equal(retryAfterMs('soon', AT), undefined);
    const inTenSeconds = new Date(Number(AT / 1_000_000n) + 10_000).toUTCString();
    assert.ok(Math.abs(retryAfterMs(inTenSeconds, AT)! - 10_000) <= 1000);
    assert.equal(retryAfterMs('999999', AT), 3600_000);
  });

  test('a URL is logged without its path (Slack URLs carry a secret there)', () => {
    assert.equal(redactUrl('https://user:pw@hooks.example.com/services/T000/B000/XXXX'), 'https://hooks.example.com');
  });
});

describe('delivery to a local receiver, retries on the simulated clock', () => {
  const receivers: WebhookReceiver[] = [];
  const targets: WebhookTarget[] = [];
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all(receivers.map((r) => r.close()));
  });
  async function setup(maxPending = 100) {
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    const log = testLogger();
    const clock = new SimClock(AT);
    const target = new WebhookTarget(
      {
        url: receiver.url,
        format: 'json',
        outbox: new Outbox({ path: undefined, maxPending }),
        timeoutMs: 2000,
        backoff: FAST,
      },
      { clock, logger: log.logger },
    );
    targets.push(target);
    /** Lets the retry timer fire (the simulated clock moves `ms`) and waits for the attempt to end. */
    const retryAfter = async (ms: number) => {
      clock.advance(ms * 1e6);
      await target.settled();
    };
    return { receiver, target, log, clock, retryAfter };
  }

  test('connection refused, then 503, then 200: every event arrives, in order, key = sequence', async () => {
    const { receiver, target, retryAfter } = await setup();
    await receiver.close(); // refused
    for (let s = 1; s <= 5; s++) target.accept(event(s));
    await target.settled();
    assert.equal(target.stats.failures.get('network'), 1);
    await retryAfter(FAST.maxMs);
    assert.equal(target.stats.failures.get('network'), 2, 'a retry once the backoff ran out');
    receiver.answer = () => ({ status: 503 });
    await receiver.listen();
    for (let i = 0; i < 3; i++) await retryAfter(FAST.maxMs);
    assert.equal(receiver.requests.length, 3);
    assert.equal(target.stats.failures.get('http_5xx'), 3);
    receiver.answer = () => ({ status: 200 });
    await retryAfter(FAST.maxMs);
    await target.idle();
    assert.deepEqual(
      receiver.accepted.map((r) => r.key),
      ['1', '2', '3', '4', '5'],
    );
    for (const r of receiver.requests) assert.equal(r.key, String(r.json.sequence));
    assert.equal(target.stats.delivered, 5);
    assert.equal(target.outbox.depth, 0);
  });

  test('429 waits exactly Retry-After, then delivers', async () => {
    const { receiver, target, retryAfter } = await setup();
    let first = true;
    receiver.answer = () => {
      if (!first) return { status: 200 };
      first = false;
      return { status: 429, headers: { 'retry-after': '1' } };
    };
    target.accept(event(1));
    await target.settled();
    await retryAfter(999);
    assert.deepEqual(
      receiver.requests.map((r) => r.status),
      [429],
      'not before the second is up',
    );
    await retryAfter(1);
    await target.idle();
    assert.deepEqual(
      receiver.requests.map((r) => r.status),
      [429, 200],
    );
  });

  test('4xx is not retried, and the rejection is logged', async () => {
    const { receiver, target, log } = await setup();
    receiver.answer = (_req, body) => ({ status: JSON.parse(body).sequence === 1 ? 400 : 200 });
    target.accept(event(1));
    target.accept(event(2));
    await target.idle();
    assert.deepEqual(
      receiver.requests.map((r) => [r.key, r.status]),
      [
        ['1', 400],
        ['2', 200],
      ],
    );
    assert.equal(target.stats.rejected, 1);
    const rejected = log.records().find((r) => r.msg === 'webhook rejected the event: not retried');
    assert.equal(rejected?.status, 400);
    assert.equal(rejected?.sequence, 1);
  });

  test('outbox overflow during an outage is counted and logged; the newest events are delivered', async () => {
    const { receiver, target, log, retryAfter } = await setup(3);
    await receiver.close();
    for (let s = 1; s <= 8; s++) target.accept(event(s));
    assert.equal(target.outbox.droppedTotal, 5);
    const drops = log.records().filter((r) => r.msg === 'webhook outbox full: dropped the oldest events');
    assert.equal(drops.length, 5);
    assert.equal(drops.at(-1)!.droppedTotal, 5);
    await target.settled();
    receiver.answer = () => ({ status: 200 });
    await receiver.listen();
    await retryAfter(FAST.maxMs);
    await target.idle();
    // Event 1 was in flight when it was dropped; the survivors all arrive.
    const delivered = new Set(receiver.accepted.map((r) => r.key));
    for (const s of ['6', '7', '8']) assert.ok(delivered.has(s), `event ${s} missing`);
    for (const s of ['2', '3', '4', '5']) assert.ok(!delivered.has(s), `dropped event ${s} was delivered`);
  });
});
