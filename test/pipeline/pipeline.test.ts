import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Instant } from '../../src/clock/clock.js';
import { SystemClock } from '../../src/clock/system-clock.js';
import { createPipeline, type Pipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { openGate } from './gated-handler.js';
import { TestClient, until } from './udp-client.js';

const HANDLER = new URL('./gated-handler.js', import.meta.url);
const clock = new SystemClock();
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function start(
  batched: Partial<NonNullable<PipelineOptions['lanes']['batched']>>,
  extra: Partial<PipelineOptions> = {},
): Promise<{ pipeline: Pipeline; client: TestClient }> {
  const pipeline = await createPipeline({
    listenAddr: { host: '127.0.0.1', port: 0 },
    clock,
    lanes: { batched: { handlerModule: HANDLER, handlerInit: {}, ...batched } },
    ...extra,
  });
  const client = await TestClient.open();
  cleanups.push(
    () => pipeline.close(),
    () => client.close(),
  );
  return { pipeline, client };
}

for (const workers of [0, 1, 2]) {
  test(`${workers} worker(s): every datagram is answered, in batches, and drops are counted by reason`, async () => {
    const { pipeline, client } = await start({ workers, maxBatch: 16, flushMs: 20, cutOnDrain: false });
    for (let i = 0; i < 40; i++) await client.send(text(`q${i}`), pipeline.address.port);
    await client.send(text('Xbad'), pipeline.address.port);
    const replies = await client.waitForReplies(40);
    assert.deepEqual(new Set(replies.map((r) => r.toString())), new Set(Array.from({ length: 40 }, (_, i) => `R${i}`)));
    await until(() => pipeline.stats().dropped['rt_malformed'] === 1, 'the drop to be counted');
    const stats = pipeline.stats();
    assert.equal(stats.received, 41);
    assert.equal(stats.answered, 40);
    assert.ok(stats.meanBatch > 1, `batches of ${stats.meanBatch}`);
    assert.ok(stats.stages.compute.count >= 1 && stats.stages.total.count === 41);
  });
}

test('a full queue drops the oldest requests and counts them', async () => {
  const gate = new SharedArrayBuffer(4);
  const { pipeline, client } = await start({
    workers: 1,
    maxBatch: 1,
    flushMs: 0,
    queueCapacity: 4,
    handlerInit: { gate },
  });
  // The worker holds two batches (one blocked on the gate, one waiting); the rest queue up.
  for (let i = 0; i < 10; i++) await client.send(text(`q${i}`), pipeline.address.port);
  await until(() => pipeline.stats().received === 10, 'all ten datagrams to arrive');
  assert.equal(pipeline.stats().shed.queueFull, 4);
  openGate(gate);
  const replies = await client.waitForReplies(6);
  assert.deepEqual(replies.map((r) => r.toString()).sort(), ['R0', 'R1', 'R6', 'R7', 'R8', 'R9']);
});

test('close drains in order: everything accepted is answered, nothing later is accepted', async () => {
  const gate = new SharedArrayBuffer(4);
  const { pipeline, client } = await start({
    workers: 1,
    maxBatch: 8,
    flushMs: 1,
    queueCapacity: 1000,
    handlerInit: { gate },
  });
  for (let i = 0; i < 100; i++) await client.send(text(`q${i}`), pipeline.address.port);
  await until(() => pipeline.stats().received === 100, 'all datagrams to arrive');
  const closed = pipeline.close();
  await client.send(text('late'), pipeline.address.port);
  openGate(gate);
  const final = await closed;
  const replies = await client.waitForReplies(100);
  assert.equal(new Set(replies.map((r) => r.toString())).size, 100);
  assert.equal(final.answered, 100);
  assert.equal(final.shed.queueFull, 0);
  assert.ok(!replies.some((r) => r.toString() === 'Rate'));
});

test('the fast lane answers at once while every worker is stuck signing, and stamps the send', async () => {
  const gate = new SharedArrayBuffer(4);
  let stamped: { receivedAt: Instant; sentAt: Instant } | undefined;
  const { pipeline, client } = await start(
    { workers: 1, maxBatch: 1, flushMs: 0, handlerInit: { gate } },
    {
      route: (datagram) => (datagram[0] === 0x46 ? 'fast' : 'batched'),
      lanes: {
        batched: { handlerModule: HANDLER, handlerInit: { gate }, workers: 1, maxBatch: 1, flushMs: 0 },
        fast: {
          handle(datagram, from, receivedAt, send) {
            send(from, (sentAt) => {
              stamped = { receivedAt, sentAt };
              return new TextEncoder().encode(`fast:${datagram.toString()}`);
            });
          },
        },
      },
    },
  );
  for (let i = 0; i < 5; i++) await client.send(text(`slow${i}`), pipeline.address.port);
  await client.send(text('F1'), pipeline.address.port);
  const [first] = await client.waitForReplies(1);
  assert.equal(first!.toString(), 'fast:F1');
  assert.ok(
    stamped && stamped.sentAt.mono >= stamped.receivedAt.mono && stamped.sentAt.wall >= stamped.receivedAt.wall,
  );
  assert.equal(pipeline.stats().stages.fast.count, 1);
  openGate(gate);
  await client.waitForReplies(6);
});

test('a broadcast reaches every worker before any batch dispatched after it', async () => {
  const { pipeline, client } = await start({ workers: 2, maxBatch: 4, flushMs: 0 });
  pipeline.broadcast({ tag: 0x53 });
  for (let i = 0; i < 20; i++) await client.send(text(`q${i}`), pipeline.address.port);
  const replies = await client.waitForReplies(20);
  assert.ok(replies.every((r) => r.toString().startsWith('S')));
});

test("a job runs on the batched lane's worker and its outcomes come back to the caller, not to the socket", async () => {
  const { pipeline } = await start({ workers: 1 });
  const outcomes = await pipeline.run([text('job1'), text('Xbad')], undefined);
  assert.deepEqual(
    outcomes.map((o) => ('output' in o ? new TextDecoder().decode(o.output) : o.dropped)),
    ['Rob1', 'SATURN_ERR_RT_MALFORMED'],
  );
  const stats = pipeline.stats();
  assert.equal(stats.answered, 0, 'nothing was sent');
  assert.equal(stats.received, 0);
});

test("a send of the program's own accord says whether the socket took it and when it left", async () => {
  const { pipeline, client } = await start({ workers: 0 });
  const before = clock.read();
  const { sent, sentAt } = pipeline.send({ address: '127.0.0.1', port: client.port }, text('hello'));
  assert.equal(sent, true);
  assert.ok(sentAt.mono >= before.mono && sentAt.wall >= before.wall - 1_000_000n);
  const [reply] = await client.waitForReplies(1);
  assert.equal(reply!.toString(), 'hello');
});

test('a batch is cut when the socket is drained: a large maxBatch and a long flush timer cost no wait at low load', async () => {
  const { pipeline, client } = await start({ workers: 1, maxBatch: 256, flushMs: 60_000 });
  const started = process.hrtime.bigint();
  for (let i = 0; i < 5; i++) await client.send(text(`d${i}`), pipeline.address.port);
  // Without the drained-socket rule these would wait for 256 requests or the 60 s timer.
  const replies = await client.waitForReplies(5, 30_000);
  assert.equal(replies.length, 5);
  assert.ok(Number(process.hrtime.bigint() - started) < 30e9);
  const stats = pipeline.stats();
  assert.ok(stats.batches >= 1 && stats.meanBatch < 256, `batches of ${stats.meanBatch}`);
});
