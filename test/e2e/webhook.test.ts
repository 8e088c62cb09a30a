import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type SaturnProcess as Proc, SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { type Received, WebhookReceiver } from '../helpers/webhook-receiver.js';

const KEY = 'e2e-webhook-key-0123456789';

/** A master whose shifted slave re-alerts every 200 ms: a steady stream of drift events. */
async function startMaster(webhookUrl: string, extra: string[] = [], port = 0) {
  const master = SaturnProcess.start([
    '--listen-addr',
    `127.0.0.1:${port}`,
    '--hmac-key',
    KEY,
    '--log-format',
    'json',
    '--threshold',
    '100ms',
    '--interval',
    '200ms',
    '--realert',
    '200ms',
    '--webhook-url',
    webhookUrl,
    '--webhook-timeout',
    '2s',
    ...extra,
  ]);
  const udp = await master.waitForLog('master listening');
  return { master, udpAddr: udp.addr as string };
}

function startShiftedSlave(masterAddr: string) {
  return SaturnProcess.start([
    '--master-addr',
    masterAddr,
    '--listen-addr',
    '127.0.0.1:0',
    '--hmac-key',
    KEY,
    '--name',
    'shifted',
    '--interval',
    '200ms',
    '--log-format',
    'json',
    '--clock-offset',
    '750ms',
  ]);
}

/** The sequence numbers of the events a process wrote to its llog stream, in output order. */
function eventSequences(proc: Proc): number[] {
  return proc.lines
    .filter((l) => l.stream === 'stdout')
    .map((l) => parseLlog(l.text))
    .filter((p) => p?.fields.event !== undefined)
    .map((p) => Number(p!.fields.sequence));
}

async function waitForEvents(proc: Proc, count: number, from = 0) {
  await proc.waitForLine(
    (l) =>
      l.stream === 'stdout' && parseLlog(l.text)?.fields.event !== undefined && eventSequences(proc).length >= count,
    30_000,
    from,
  );
}

/** Every duplicate delivery carries the same Idempotency-Key and the same body as the first. */
function assertDuplicatesAreIdentical(requests: readonly Received[]) {
  const firstBody = new Map<string, string>();
  for (const r of requests) {
    assert.equal(r.key, String(r.json.sequence), 'Idempotency-Key is the sequence');
    const seen = firstBody.get(r.key!);
    if (seen === undefined) firstBody.set(r.key!, r.body);
    else assert.equal(r.body, seen, `a duplicate of ${r.key} has another body`);
  }
}

const isIncreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

describe('webhook delivery end to end (real processes, a local receiver that fails)', () => {
  const procs: Proc[] = [];
  const receivers: WebhookReceiver[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await Promise.all(receivers.map((r) => r.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('connection refused, then 503, then 200: every event arrives; duplicates only with the same key', async () => {
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    await receiver.close(); // nothing listens: connection refused
    const { master, udpAddr } = await startMaster(receiver.url);
    procs.push(master);
    const slave = startShiftedSlave(udpAddr);
    procs.push(slave);

    await waitForEvents(master, 3);
    await master.waitForLog('webhook delivery failed: will retry');
    receiver.answer = () => ({ status: 503 });
    await receiver.listen();
    await receiver.until(() => receiver.requests.length >= 2, 30_000, 'two 503 answers');
    receiver.answer = () => ({ status: 200 });

    // Stop the events at their source; the master then also raises slave_lost.
    await slave.stop();
    await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'slave_lost', 30_000);
    const sequences = eventSequences(master);
    assert.ok(isIncreasing(sequences), `llog sequences not increasing: ${sequences}`);
    assert.deepEqual(
      sequences,
      sequences.map((_, i) => i + 1),
      'without a state dir, numbers start at 1 with no gaps',
    );
    await receiver.until(
      () => sequences.every((s) => receiver.accepted.some((r) => r.key === String(s))),
      60_000,
      'every event',
    );

    assert.ok(receiver.requests.some((r) => r.status === 503));
    assertDuplicatesAreIdentical(receiver.requests);
    const accepted = receiver.accepted.map((r) => r.json);
    assert.deepEqual(
      accepted.map((b) => b.sequence),
      [...sequences],
      'each event accepted once, in sequence order',
    );
    const drift = accepted.find((b) => b.event === 'drift')!;
    assert.equal(drift.node.id, 'shifted');
    assert.match(drift.node.addr, /^127\.0\.0\.1:\d+$/);
    assert.ok(Math.abs(drift.offsetSeconds - 0.75) < 0.005, `offset ${drift.offsetSeconds}`);
    assert.equal(drift.thresholdSeconds, 0.1);
    assert.ok(drift.errorSeconds >= 0);
    assert.match(drift.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(accepted.at(-1).event, 'slave_lost');
    await master.stop();
  });

  test('SIGKILL of saturn in the middle of the outage loses nothing and reuses no number', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'saturn-e2e-state-'));
    dirs.push(stateDir);
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    await receiver.close();

    const first = await startMaster(receiver.url, ['--state-dir', stateDir]);
    procs.push(first.master);
    const slave = startShiftedSlave(first.udpAddr);
    procs.push(slave);
    await waitForEvents(first.master, 4);
    await first.master.stop('SIGKILL');
    const before = eventSequences(first.master);

    const port = Number(first.udpAddr.split(':').pop());
    receiver.answer = () => ({ status: 200 });
    await receiver.listen();
    const second = await startMaster(receiver.url, ['--state-dir', stateDir], port);
    procs.push(second.master);
    const reopened = await second.master.waitForLog('webhook outbox reopened');
    assert.ok(
      reopened.pending >= before.length,
      `outbox reopened with ${reopened.pending} pending, ${before.length} were shown`,
    );
    await waitForEvents(second.master, 2);
    await slave.stop();
    const afterRestart = eventSequences(second.master);
    assert.ok(Math.min(...afterRestart) > Math.max(...before), `reused: before ${before}, after ${afterRestart}`);
    const all = [...before, ...afterRestart];
    await receiver.until(
      () => all.every((s) => receiver.accepted.some((r) => r.key === String(s))),
      60_000,
      'every event of both runs',
    );
    assertDuplicatesAreIdentical(receiver.requests);
    const order = receiver.accepted.map((r) => r.json.sequence as number);
    assert.ok(isIncreasing(order.filter((s, i) => order.indexOf(s) === i)), `delivered out of order: ${order}`);
    await second.master.stop();
  });

  test('SIGTERM during the outage: saturn exits 0, and every pending event is delivered after the restart', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'saturn-e2e-state-'));
    dirs.push(stateDir);
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    // The receiver refuses every event until the restart.
    receiver.answer = () => ({ status: 503 });

    const first = await startMaster(receiver.url, ['--state-dir', stateDir]);
    procs.push(first.master);
    const slave = startShiftedSlave(first.udpAddr);
    procs.push(slave);
    await waitForEvents(first.master, 4);
    await receiver.until(() => receiver.requests.length > 0, 30_000, 'a refused POST');
    const exit = await first.master.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, first.master.output());
    const before = eventSequences(first.master);
    await slave.stop();

    await receiver.close();
    receiver.answer = () => ({ status: 200 });
    await receiver.listen();
    const port = Number(first.udpAddr.split(':').pop());
    const second = await startMaster(receiver.url, ['--state-dir', stateDir], port);
    procs.push(second.master);
    await receiver.until(
      () => before.every((s) => receiver.accepted.some((r) => r.key === String(s))),
      60_000,
      'every event shown before SIGTERM',
    );
    assertDuplicatesAreIdentical(receiver.requests);
    await second.master.stop();
  });

  test('an outbox that overflows during the outage says how many events it dropped', async () => {
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    await receiver.close();
    const { master, udpAddr } = await startMaster(receiver.url, ['--webhook-outbox-max', '2']);
    procs.push(master);
    const slave = startShiftedSlave(udpAddr);
    procs.push(slave);
    const dropped = await master.waitForLog('webhook outbox full: dropped the oldest events', 30_000);
    assert.equal(dropped.dropped, 1);
    assert.equal(dropped.droppedTotal, 1);
    assert.equal(dropped.maxPending, 2);
    assert.equal(dropped.webhook, `http://127.0.0.1:${receiver.port}`);
    await slave.stop();
    await master.stop();
  });

  test('a receiver that moved (301): the events become dead letters, and a replay delivers them to the new address', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'saturn-e2e-state-'));
    dirs.push(stateDir);
    const moved = await new WebhookReceiver().listen();
    receivers.push(moved);
    const old = await new WebhookReceiver().listen();
    receivers.push(old);
    old.answer = () => ({ status: 301, headers: { location: moved.url } });
    const { master, udpAddr } = await startMaster(old.url, ['--state-dir', stateDir]);
    procs.push(master);
    const slave = startShiftedSlave(udpAddr);
    procs.push(slave);
    const rejected = await master.waitForLog(
      'webhook rejected the event: kept as a dead letter (saturn events replay sends it again)',
      30_000,
    );
    assert.equal(rejected.level, 50);
    assert.equal(rejected.status, 301);
    await waitForEvents(master, 3);
    await slave.stop();
    await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'slave_lost', 30_000);
    const shown = eventSequences(master);
    // Each dead letter is durable before its ERROR line.
    const deadLettered = () =>
      master.lines.filter((l) => l.stream === 'stderr' && l.text.includes('kept as a dead letter')).length;
    await master.waitForLine(() => deadLettered() >= shown.length, 30_000);
    assert.equal(moved.requests.length, 0, 'a 301 is not followed');

    // While the master still runs on the state dir.
    const replay = SaturnProcess.start(['events', 'replay', '--state-dir', stateDir, '--webhook-url', moved.url]);
    procs.push(replay);
    assert.equal((await replay.exited).code, 0, replay.output());
    assert.deepEqual(
      moved.accepted.map((r) => Number(r.key)),
      shown,
      'every event, in order, with its Idempotency-Key',
    );
    assertDuplicatesAreIdentical(moved.requests);
    await master.stop();
  });

  test('one master feeds webhooks of different formats (slack= prefix beside a json URL)', async () => {
    const slack = await new WebhookReceiver().listen();
    const json = await new WebhookReceiver().listen();
    receivers.push(slack, json);
    const { master, udpAddr } = await startMaster(json.url, ['--webhook-url', `slack=${slack.url}`]);
    procs.push(master);
    const slave = startShiftedSlave(udpAddr);
    procs.push(slave);
    await slack.until(() => slack.accepted.length >= 1, 30_000, 'a Slack message');
    await json.until(() => json.accepted.length >= 1, 30_000, 'a JSON event');
    assert.match(
      slack.accepted[0]!.json.text,
      /^saturn #\d+: shifted \(127\.0\.0\.1:\d+\) over threshold offset \+7\d\d\.\d{3} ms/,
    );
    assert.equal(json.accepted[0]!.json.event, 'drift');
    assert.equal(slack.accepted[0]!.key, json.accepted[0]!.key, 'the same event, the same Idempotency-Key');
    await slave.stop();
    await master.stop();
  });
});
