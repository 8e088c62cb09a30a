import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import type { SaturnEvent } from '../../src/events/event.js';
import { Outbox } from '../../src/events/outbox.js';
import { WebhookTarget, webhookId } from '../../src/events/webhook.js';
import { DeadLetters, readDeadLetters } from '../../src/events/dead-letters.js';
import { nodeStateFs } from '../../src/events/state-fs.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('delivery to a local receiver, retries on the simulated clock', () => {
  const receivers: WebhookReceiver[] = [];
  const targets: WebhookTarget[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all(receivers.map((r) => r.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  async function setup(maxPending = 100, options: { timeoutMs?: number; fs?: FaultyFs; url?: string } = {}) {
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    const log = testLogger();
    const clock = new SimClock(AT);
    const stateDir = mkdtempSync(join(tmpdir(), 'saturn-webhook-'));
    dirs.push(stateDir);
    const deadLetters = await DeadLetters.open(options.fs ?? nodeStateFs, stateDir);
    const target = new WebhookTarget(
      {
        url: options.url ?? receiver.url,
        format: 'json',
        outbox: await Outbox.open({ path: undefined, maxPending }),
        deadLetters,
        timeoutMs: options.timeoutMs ?? 2000,
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
    return { receiver, target, log, clock, retryAfter, stateDir };
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

  test('closing with undelivered events and no state dir says at WARN how many are lost', async () => {
    const { receiver, target, log } = await setup();
    await receiver.close(); // refused
    for (let s = 1; s <= 3; s++) await accept(target, event(s));
    await target.settled();
    await target.close();
    const lost = log.records().find((r) => /lost/.test(r.msg));
    assert.equal(lost?.lost, 3, JSON.stringify(log.records()));
    assert.equal(lost?.level, 40, 'WARN');
    assert.match(lost.msg, /--state-dir/);
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

  test('4xx is not retried: the event becomes a dead letter, logged at ERROR with the status', async () => {
    const { receiver, target, log, stateDir } = await setup();
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
    const rejected = log.records().find((r) => r.msg.startsWith('webhook rejected the event: kept as a dead letter'));
    assert.equal(rejected?.level, 50);
    assert.equal(rejected?.status, 400);
    assert.equal(rejected?.sequence, 1);
    const { letters } = await readDeadLetters(nodeStateFs, stateDir);
    assert.deepEqual(
      letters.map((l) => [l.event.sequence, l.status, l.webhook, l.target, l.replayed]),
      [[1, 400, webhookId(receiver.url), `http://127.0.0.1:${receiver.port}`, false]],
    );
    assert.deepEqual(letters[0]!.event, event(1));
  });

  test('a receiver that moved: 301 is not followed (a POST would become a GET) and is kept as a dead letter', async () => {
    const { receiver, target, log, stateDir } = await setup();
    receiver.answer = () => ({ status: 301, headers: { location: 'http://127.0.0.1:9/elsewhere' } });
    await accept(target, event(1));
    await target.idle();
    assert.equal(receiver.requests.length, 1);
    const rejected = log.records().find((r) => r.msg.startsWith('webhook rejected the event'));
    assert.equal(rejected?.status, 301);
    assert.match(rejected?.reason, /HTTP 301 \(Location http:\/\/127\.0\.0\.1:9\): only 307 and 308 keep a POST/);
    assert.equal((await readDeadLetters(nodeStateFs, stateDir)).letters.length, 1);
  });

  test('307 and 308 are followed with the same body and key, a permanent move is logged once', async () => {
    const moved = await new WebhookReceiver().listen();
    receivers.push(moved);
    const { receiver, target, log } = await setup();
    receiver.answer = (req) => ({
      status: req.url === '/hook' ? 308 : 307,
      headers: { location: req.url === '/hook' ? '/step' : moved.url },
    });
    for (let s = 1; s <= 3; s++) await accept(target, event(s));
    await target.idle();
    assert.equal(target.stats.delivered, 3);
    assert.deepEqual(
      moved.accepted.map((r) => [r.key, r.json.sequence]),
      [
        ['1', 1],
        ['2', 2],
        ['3', 3],
      ],
    );
    const hops = log.records().filter((r) => r.msg.startsWith('webhook moved permanently'));
    assert.equal(hops.length, 1, 'one warning per new location, not one per event');
    assert.equal(hops[0]!.level, 40);
  });

  test('a redirect loop ends after a bounded number of hops, as a dead letter', async () => {
    const { receiver, target, log } = await setup();
    receiver.answer = () => ({ status: 307, headers: { location: '/hook' } });
    await accept(target, event(1));
    await target.idle();
    assert.equal(receiver.requests.length, 6, 'the request and 5 redirects');
    const rejected = log.records().find((r) => r.msg.startsWith('webhook rejected the event'));
    assert.match(rejected?.reason, /more than 5 redirects/);
  });

  test('a receiver that does not answer: the timeout is logged as a reason a human can read', async () => {
    const silent = createServer(() => undefined); // takes the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
      const { target, log } = await setup(100, { timeoutMs: 200, url });
      await accept(target, event(1));
      await target.settled();
      const failed = log.records().find((r) => r.msg === 'webhook delivery failed: will retry');
      assert.equal(failed?.reason, 'timed out after 200 ms');
      assert.equal(target.stats.failures.get('timeout'), 1);
      await target.close();
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('connection refused is logged with its code and address', async () => {
    const { receiver, target, log } = await setup();
    await receiver.close();
    await accept(target, event(1));
    await target.settled();
    const failed = log.records().find((r) => r.msg === 'webhook delivery failed: will retry');
    assert.match(failed?.reason, /ECONNREFUSED.*127\.0\.0\.1/);
  });

  test('when even the dead letter cannot be written, the event stays in the outbox and is tried again', async () => {
    const fs = new FaultyFs();
    const { receiver, target, retryAfter, stateDir } = await setup(100, { fs });
    receiver.answer = () => ({ status: 410 });
    fs.spaceLeft = 0;
    await accept(target, event(1));
    await target.settled();
    assert.equal(target.outbox.depth, 1);
    assert.equal(target.stats.rejected, 0);
    fs.spaceLeft = Infinity;
    await retryAfter(FAST.maxMs);
    await target.idle();
    assert.equal(target.outbox.depth, 0);
    assert.equal((await readDeadLetters(nodeStateFs, stateDir)).letters.length, 1);
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
