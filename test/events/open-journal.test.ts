import assert from 'node:assert/strict';
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SEQUENCE_FILE } from '../../src/events/sequence-store.js';
import { SaturnError } from '../../src/errors.js';
import type { WebhookSpec } from '../../src/events/formats.js';
import { DEAD_LETTER_FILE, DeadLetters } from '../../src/events/dead-letters.js';
import { nodeStateFs } from '../../src/events/state-fs.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { closeTestJournals, driftInput, openTestJournal, shownSequences, testStateDir } from '../helpers/journal.js';

const receivers: WebhookReceiver[] = [];
after(async () => {
  await closeTestJournals();
  await Promise.all(receivers.map((r) => r.close()));
});

const outboxFile = (dir: string) =>
  join(
    dir,
    readdirSync(dir).find((f) => f.startsWith('outbox-'))!,
  );

/** A first run that raises `n` events nobody receives (they stay in the outbox), then stops. */
async function firstRun(n: number, options: { webhooks?: WebhookSpec[] } = {}) {
  const first = await openTestJournal(options);
  for (let i = 1; i <= n; i++) first.journal.emit(driftInput(i));
  await first.journal.flushed();
  await first.close();
  return first.stateDir;
}

test('the sequence file missing: numbering goes on above every number the outbox holds, and says so', async () => {
  const stateDir = await firstRun(13);
  unlinkSync(join(stateDir, SEQUENCE_FILE));
  const second = await openTestJournal({ stateDir });
  const event = second.journal.emit(driftInput(14));
  assert.equal(event.sequence, 14, 'not 1: the receivers saw 1-13 already');
  const warning = second.log.records().find((r) => r.msg.startsWith('the sequence file is missing or behind'));
  assert.equal(warning?.level, 40);
  assert.equal(warning?.file, 'missing');
  assert.equal(warning?.next, 14);
});

test('the sequence file behind the outbox: numbering goes on above the outbox', async () => {
  const stateDir = await firstRun(13);
  writeFileSync(join(stateDir, SEQUENCE_FILE), '9\n');
  const second = await openTestJournal({ stateDir });
  assert.equal(second.journal.emit(driftInput(14)).sequence, 14);
  await second.journal.flushed();
  assert.deepEqual(shownSequences(second.stdout.lines), [14]);
  assert.equal(readFileSync(join(stateDir, SEQUENCE_FILE), 'utf8'), '1014\n', 'the repaired number is reserved');
});

test('an outbox whose events were all delivered still remembers the highest number', async () => {
  const stateDir = await firstRun(13);
  // Everything delivered, then compacted: the file keeps only its high-water mark.
  writeFileSync(outboxFile(stateDir), '{"high":13}\n');
  unlinkSync(join(stateDir, SEQUENCE_FILE));
  const second = await openTestJournal({ stateDir });
  assert.equal(second.journal.emit(driftInput(14)).sequence, 14);
});

/** A state dir holding one dead letter, of event `sequence`. */
async function stateDirWithDeadLetter(sequence: number): Promise<string> {
  const stateDir = testStateDir();
  const letters = await DeadLetters.open(nodeStateFs, stateDir);
  const event = { kind: 'drift' as const, at: 1n, sequence, reporter: 'master' };
  await letters.add({ event, webhook: 'x', target: 'http://x', status: 404, reason: 'HTTP 404', at: 1n });
  await letters.close();
  return stateDir;
}

test('dead letters count too', async () => {
  const stateDir = await stateDirWithDeadLetter(41);
  const node = await openTestJournal({ stateDir });
  assert.equal(node.journal.emit(driftInput(1)).sequence, 42);
});

test('the outbox of a webhook no longer configured counts too, and its events are pointed out', async () => {
  const stateDir = await firstRun(5, { webhooks: [{ url: 'http://127.0.0.1:9/old', format: 'json' }] });
  unlinkSync(join(stateDir, SEQUENCE_FILE));
  const second = await openTestJournal({ stateDir, webhooks: [{ url: 'http://127.0.0.1:9/new', format: 'json' }] });
  assert.equal(second.journal.emit(driftInput(6)).sequence, 6);
  const orphan = second.log.records().find((r) => r.msg.startsWith('an outbox of a webhook no longer configured'));
  assert.equal(orphan?.pending, 5);
});

test('an empty or garbage sequence file refuses to start with one sentence (SATURN_ERR_STATE)', async () => {
  for (const [text, message] of [
    ['', /sequence is empty: it should hold the next event sequence number$/],
    ['twelve\n', /does not hold a sequence number: "twelve"$/],
  ] as const) {
    const stateDir = testStateDir();
    writeFileSync(join(stateDir, SEQUENCE_FILE), text);
    await assert.rejects(openTestJournal({ stateDir }), (err: unknown) => {
      assert.ok(err instanceof SaturnError);
      assert.equal(err.code, 'SATURN_ERR_STATE');
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('opening an outbox with damage logs lost events at ERROR with their numbers, a torn tail at WARN', async () => {
  const stateDir = await firstRun(4);
  const file = outboxFile(stateDir);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  // Event 2's record torn and followed by event 3's on the same line; event 4's torn at the end.
  writeFileSync(file, `${lines[0]}\n${lines[1]!.slice(0, 70)}${lines[2]}\n${lines[3]!.slice(0, 70)}`);
  const reopened = await openTestJournal({ stateDir });
  assert.deepEqual(
    reopened.webhooks[0]!.outbox.pending().map((e) => e.sequence),
    [1, 3],
  );
  const lost = reopened.log.records().find((r) => r.msg === 'webhook outbox: damaged records, events lost');
  assert.equal(lost?.level, 50);
  assert.equal(lost?.sequences, '2');
  const torn = reopened.log.records().find((r) => r.msg.startsWith('webhook outbox: cut a torn record'));
  assert.equal(torn?.level, 40);
  assert.equal(torn?.sequences, '4');
  assert.ok(reopened.journal.emit(driftInput(5)).sequence > 4, 'numbering goes on above the torn event too');
});

test('alertmanager webhooks get every active alert again each --alert-repost, until it is resolved', async () => {
  const receiver = await new WebhookReceiver().listen();
  const json = await new WebhookReceiver().listen();
  receivers.push(receiver, json);
  const node = await openTestJournal({
    webhooks: [
      { url: receiver.url, format: 'alertmanager' },
      { url: json.url, format: 'json' },
    ],
    alertRepostNs: 1e9,
  });
  node.setGeneratorUrl('http://master.example:9123/');
  const [am] = node.webhooks;
  node.journal.emit(driftInput(3));
  await receiver.until(() => receiver.requests.length === 1, 10_000, 'the drift alert');
  const [firing] = receiver.requests[0]!.json;
  assert.equal(firing.labels.node, 'web-3');
  assert.equal(firing.generatorURL, 'http://master.example:9123/');
  assert.equal(Date.parse(firing.endsAt) - Date.parse(firing.startsAt), 4000, '4 re-posts ahead');

  node.clock.advance(1e9);
  await receiver.until(() => receiver.requests.length === 2, 10_000, 'the re-post');
  const repost = receiver.requests[1]!;
  assert.equal(repost.key, undefined, 'a re-post is not an event: no Idempotency-Key');
  assert.deepEqual(
    repost.json.map((a: any) => a.labels),
    [firing.labels],
  );
  assert.equal(repost.json[0].startsAt, firing.startsAt);
  assert.equal(Date.parse(repost.json[0].endsAt) - Date.parse(firing.endsAt), 1000, 'moved ahead by one interval');

  node.journal.emit({ ...driftInput(3), kind: 'recovered' });
  await receiver.until(() => receiver.requests.length === 3, 10_000, 'the resolve');
  const [resolved] = receiver.requests[2]!.json;
  assert.deepEqual(resolved.labels, firing.labels);
  assert.ok(Date.parse(resolved.endsAt) <= Date.parse(firing.endsAt));
  assert.equal(node.alerts.size, 0);

  node.clock.advance(5e9);
  await am!.settled();
  assert.equal(receiver.requests.length, 3, 'nothing active: nothing re-posted');
  assert.equal(json.requests.length, 2, 'json webhooks get events only');
});

test('a torn last dead letter (a write a crash cut short) is cut off and said at WARN, and the node starts', async () => {
  const stateDir = await stateDirWithDeadLetter(7);
  const file = join(stateDir, DEAD_LETTER_FILE);
  const whole = readFileSync(file, 'utf8');
  writeFileSync(file, `${whole}${whole.slice(0, 40)}`);
  const node = await openTestJournal({ stateDir });
  const torn = node.log.records().find((r) => r.msg.startsWith('dead letters: cut a torn record at its end'));
  assert.equal(torn?.level, 40);
  assert.equal(readFileSync(file, 'utf8'), whole, 'the whole letter stays, the torn one is gone');
  assert.equal(node.journal.emit(driftInput(1)).sequence, 8);
});
