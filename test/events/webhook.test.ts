import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SaturnEvent } from '../../src/events/event.js';
import { Outbox } from '../../src/events/outbox.js';
import { WebhookTarget, classifyStatus, redactUrl, retryAfterMs } from '../../src/events/webhook.js';
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

/** What the journal does with each event: store it durably, then release it for delivery. */
async function accept(target: WebhookTarget, e: SaturnEvent): Promise<void> {
  await target.store([e]);
  target.release(e);
}

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
        outbox: await Outbox.open({ path: undefined, maxPending }),
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
    for (let s = 1; s <= 5; s++) await accept(target, event(s));
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
    await accept(target, event(1));
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
    await accept(target, event(1));
    await accept(target, event(2));
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
    for (let s = 1; s <= 8; s++) await accept(target, event(s));
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
