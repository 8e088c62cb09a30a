import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventJournal } from '../../src/events/journal.js';
import { eventLlogLine } from '../../src/events/event.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { formatLlog } from '../../src/log/llog.js';
import { SystemClock } from '../../src/clock/system-clock.js';
import { createDiagnostics } from '../../src/log/diagnostics.js';
import { verifyMalfeasanceReport } from '../../src/roughtime/chain.js';
import { ReferenceMonitor } from '../../src/service/reference-monitor.js';
import { parseLlog } from '../helpers/saturn-process.js';
import { type TestServer, startTestServer } from '../roughtime/test-server.js';

function sinkLines() {
  const lines: string[] = [];
  return { sink: { write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) }, lines };
}

async function round(servers: TestServer[], clockOffsetNs: number, stateDir?: string) {
  const events = sinkLines();
  const diag = sinkLines();
  const clock = new SystemClock({ offsetNs: clockOffsetNs });
  const logger = createDiagnostics({ level: 'warn', format: 'json', sink: diag.sink });
  const journal = new EventJournal({ reporter: 'test-master', sequence: new MemorySequence(), clock, logger });
  journal.subscribe((event) => {
    const { level, message, fields } = eventLlogLine(event);
    events.sink.write(formatLlog(level, message, fields));
  });
  const monitor = new ReferenceMonitor({
    servers: servers.map((s) => s.server),
    intervalNs: 60e9,
    clock,
    logger,
    journal,
    stateDir,
    timeoutMs: 500,
  });
  const result = await monitor.check();
  await monitor.close();
  await journal.flushed();
  return { result, events: events.lines.map((l) => parseLlog(l)!), diag: diag.lines };
}

test('a clock 10 s ahead of the Roughtime servers raises an ERROR line per answer', async () => {
  const servers = [await startTestServer({ name: 'rt-a', seed: 1 }), await startTestServer({ name: 'rt-b', seed: 2 })];
  try {
    const { result, events } = await round(servers, 10e9);
    assert.equal(result.answers.length, 4, 'two servers, queried twice');
    assert.equal(result.wrong.length, 4);
    const errors = events.filter((e) => e.message === 'reference clock disagrees with roughtime');
    assert.equal(errors.length, 4);
    assert.equal(errors[0]!.level, 'ERROR');
    // IETF Roughtime times are whole seconds: the offset is 10 s give or take one.
    assert.ok(Math.abs(Number(errors[0]!.fields.offset) - 10_000) <= 1_000, `offset ${errors[0]!.fields.offset} ms`);
    assert.equal(errors[0]!.fields.server, 'rt-a');
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a clock in step with the servers raises nothing', async () => {
  const servers = [await startTestServer({ name: 'rt-a', seed: 1 })];
  try {
    const { result, events } = await round(servers, 0);
    assert.equal(result.answers.length, 1);
    assert.equal(result.wrong.length, 0);
    assert.deepEqual(events, []);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('servers that contradict each other produce a verifiable malfeasance report in the state dir', async () => {
  const servers = [
    await startTestServer({ name: 'honest-1', seed: 1 }),
    await startTestServer({ name: 'liar', seed: 2, offsetNs: 86_400_000_000_000n }),
    await startTestServer({ name: 'honest-2', seed: 3 }),
  ];
  const stateDir = mkdtempSync(join(tmpdir(), 'saturn-state-'));
  try {
    const { result, events } = await round(servers, 0, stateDir);
    assert.ok(result.contradictions > 0);
    assert.ok(result.reportPath);
    const files = readdirSync(stateDir);
    assert.equal(files.length, 1);
    const verdict = verifyMalfeasanceReport(JSON.parse(readFileSync(join(stateDir, files[0]!), 'utf8')));
    assert.equal(verdict.valid, true, verdict.reason ?? undefined);
    const falseticker = events.find((e) => e.fields.event === 'falseticker');
    assert.ok(falseticker, 'a falseticker event names the contradicting pair');
    assert.match(falseticker.fields.reason!, /contradict.*malfeasance report: .*roughtime-malfeasance/);
    // The liar's answers also disagree with the (correct) local clock.
    assert.ok(result.wrong.every((a) => a.server.name === 'liar'));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a silent server is a warning, not a crash or a false alarm', async () => {
  const servers = [await startTestServer({ name: 'quiet', behaviour: () => 'silent' })];
  try {
    const { result, events, diag } = await round(servers, 0);
    assert.equal(result.failures, 1);
    assert.deepEqual(events, []);
    assert.ok(diag.some((l) => l.includes('did not answer')));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});
