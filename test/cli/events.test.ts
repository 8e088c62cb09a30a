import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { DeadLetters } from '../../src/events/dead-letters.js';
import { SequenceStore } from '../../src/events/sequence-store.js';
import type { SaturnEvent } from '../../src/events/event.js';
import { nodeStateFs } from '../../src/events/state-fs.js';
import { webhookId } from '../../src/events/webhook.js';
import { closeTestJournals, driftInput, openTestJournal, testStateDir } from '../helpers/journal.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const receivers: WebhookReceiver[] = [];
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await closeTestJournals();
});

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** `saturn events replay --state-dir DIR --webhook-url URL ...extra` */
const replay = (stateDir: string, url: string, ...extra: string[]) =>
  run('events', 'replay', '--state-dir', stateDir, '--webhook-url', url, ...extra);

const OLD = 'http://old.example:8080/hook';
const AT = 1_714_564_800_000_000_000n;
const event = (sequence: number): SaturnEvent => ({
  kind: 'drift',
  at: AT,
  sequence,
  reporter: 'master',
  node: { id: `web-${sequence}`, addr: '10.0.0.1:4123' },
  offsetNs: 750e6,
});

/** A state dir whose old webhook rejected events 3, 5 and 4 (in that order) with 301. */
async function stateDirWithDeadLetters() {
  const stateDir = testStateDir();
  const letters = await DeadLetters.open(nodeStateFs, stateDir);
  for (const sequence of [3, 5, 4])
    await letters.add({
      event: event(sequence),
      webhook: webhookId(OLD),
      target: 'http://old.example:8080',
      status: 301,
      reason: 'HTTP 301 (Location https://new.example): only 307 and 308 keep a POST',
      at: AT,
    });
  await letters.close();
  return stateDir;
}

test('events list shows undelivered events per outbox and the dead letters', async () => {
  const stateDir = await stateDirWithDeadLetters();
  const text = await run('events', 'list', '--state-dir', stateDir);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /highest event sequence 5 in outboxes and dead letters; no sequence file/);
  assert.match(text.stdout, /dead letters: 3, 3 not replayed/);
  assert.match(
    text.stdout,
    /#3 drift web-3 {2}rejected by http:\/\/old\.example:8080 \(HTTP 301\) at 2024-05-01T12:00:00\.000000000Z/,
  );
  const json = JSON.parse((await run('events', 'list', '--state-dir', stateDir, '--json')).stdout);
  assert.deepEqual(
    json.deadLetters.map((l: any) => [l.sequence, l.status, l.replayed]),
    [
      [3, 301, false],
      [5, 301, false],
      [4, 301, false],
    ],
  );
});

test('events list says what the sequence file reserves: a node without webhooks keeps its numbers nowhere else', async () => {
  const stateDir = testStateDir();
  const sequence = await SequenceStore.open(stateDir);
  for (let i = 0; i < 3; i++) sequence.next();
  await sequence.reserve(3);
  const text = await run('events', 'list', '--state-dir', stateDir);
  assert.equal(text.code, 0);
  assert.match(
    text.stdout,
    /highest event sequence 0 in outboxes and dead letters; sequence file: numbers up to 1002 reserved, the next start numbers from 1003/,
  );
  const json = JSON.parse((await run('events', 'list', '--state-dir', stateDir, '--json')).stdout);
  assert.equal(json.sequenceFile, 1003);
});

test('events list counts what a running node has not delivered yet', async () => {
  const node = await openTestJournal();
  for (let i = 1; i <= 3; i++) node.journal.emit(driftInput(i));
  await node.journal.flushed();
  const json = JSON.parse((await run('events', 'list', '--state-dir', node.stateDir, '--json')).stdout);
  assert.deepEqual(json.outboxes[0].undelivered, [1, 2, 3]);
});

test('events replay sends the dead letters in sequence order with their keys, once', async () => {
  const stateDir = await stateDirWithDeadLetters();
  const receiver = await new WebhookReceiver().listen();
  receivers.push(receiver);
  const first = await replay(stateDir, receiver.url);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(
    receiver.requests.map((r) => [r.key, r.json.sequence, r.json.node.id]),
    [
      ['3', 3, 'web-3'],
      ['4', 4, 'web-4'],
      ['5', 5, 'web-5'],
    ],
  );
  assert.match(first.stdout, /replayed #3 drift web-3\n.*\n.*\n3 replayed, 0 left\n$/);
  const second = await replay(stateDir, receiver.url);
  assert.equal(second.code, 0);
  assert.equal(receiver.requests.length, 3, 'nothing is sent twice');
  assert.match((await run('events', 'list', '--state-dir', stateDir)).stdout, /dead letters: 3, 0 not replayed/);
});

test('a replay that fails stops in order, exits 1 and leaves the rest for the next run', async () => {
  const stateDir = await stateDirWithDeadLetters();
  const receiver = await new WebhookReceiver().listen();
  receivers.push(receiver);
  receiver.answer = (_req, body) => ({ status: JSON.parse(body).sequence === 4 ? 503 : 200 });
  const failed = await replay(stateDir, receiver.url);
  assert.equal(failed.code, 1);
  assert.match(
    failed.stderr,
    /^saturn: #4 drift web-4 was not delivered \(HTTP 503\); the rest waits for the next replay\n$/,
  );
  assert.match(failed.stdout, /1 replayed, 2 left/);
  receiver.answer = () => ({ status: 200 });
  const again = await replay(stateDir, receiver.url, '--sequence', '5');
  assert.equal(again.code, 0);
  assert.deepEqual(
    receiver.accepted.map((r) => r.key),
    ['3', '5'],
  );
});

test('replay filters by the webhook that rejected them', async () => {
  const stateDir = await stateDirWithDeadLetters();
  const receiver = await new WebhookReceiver().listen();
  receivers.push(receiver);
  const other = await replay(stateDir, receiver.url, '--from', 'http://x/');
  assert.equal(other.code, 0);
  assert.equal(receiver.requests.length, 0);
  await replay(stateDir, receiver.url, '--from', OLD);
  assert.equal(receiver.requests.length, 3);
});

test('usage errors are one sentence and exit 2', async () => {
  for (const [argv, message] of [
    [['events', 'list'], /^saturn: events list needs --state-dir DIR\n$/],
    [['events', 'replay'], /^saturn: events replay needs --state-dir DIR\n$/],
    [['events', 'replay', '--state-dir', '/tmp'], /^saturn: events replay needs --webhook-url URL\n$/],
    [['events', 'replay', '--state-dir', '/tmp', '--webhook-url', 'ftp://x'], /must be an http or https URL/],
  ] as const) {
    const { code, stderr } = await run(...argv);
    assert.equal(code, 2);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1);
  }
});
