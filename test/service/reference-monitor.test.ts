import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventJournal } from '../../src/events/journal.js';
import { eventLlogLine } from '../../src/events/event.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { formatLlog } from '../../src/log/llog.js';
import { SimClock } from '../../src/clock/sim-clock.js';
import { SystemClock } from '../../src/clock/system-clock.js';
import { createDiagnostics } from '../../src/log/diagnostics.js';
import { verifyMalfeasanceReport } from '../../src/roughtime/chain.js';
import { ReferenceAlarm, ReferenceMonitor } from '../../src/service/reference-monitor.js';
import { parseLlog } from '../helpers/saturn-process.js';
import { type Behaviour, type TestServer, startTestServer } from '../roughtime/test-server.js';

function sinkLines() {
  const lines: string[] = [];
  return { sink: { write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) }, lines };
}

/** A monitor of `servers` on a clock `clockOffsetNs` off, with its events as llog lines and its WARN diagnostics. */
function monitorOf(servers: TestServer[], clockOffsetNs: number, stateDir?: string) {
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
  return { monitor, journal, events, diag };
}

async function round(servers: TestServer[], clockOffsetNs: number, stateDir?: string) {
  const { monitor, journal, events, diag } = monitorOf(servers, clockOffsetNs, stateDir);
  // Closed even when the round fails, so that a failure fails the test rather than hanging it.
  const result = await monitor.check().finally(() => monitor.close());
  await journal.flushed();
  return { result, events: events.lines.map((l) => parseLlog(l)!), diag: diag.lines };
}

const DAY_NS = 86_400_000_000_000n;

/** Three servers, the middle one ('liar') `offsetNs` off (a day by default), validly signed. */
async function liarAmongHonest(offsetNs: bigint = DAY_NS, behaviour?: (n: number) => Behaviour): Promise<TestServer[]> {
  return [
    await startTestServer({ name: 'honest-1', seed: 1 }),
    await startTestServer({ name: 'liar', seed: 2, offsetNs, behaviour }),
    await startTestServer({ name: 'honest-2', seed: 3 }),
  ];
}

test('a clock 10 s ahead of the Roughtime servers raises one ERROR line for the round, not one per answer', async () => {
  const servers = [await startTestServer({ name: 'rt-a', seed: 1 }), await startTestServer({ name: 'rt-b', seed: 2 })];
  try {
    const { result, events } = await round(servers, 10e9);
    assert.equal(result.answers.length, 4, 'two servers, queried twice');
    assert.equal(result.wrong.length, 4);
    const errors = events.filter((e) => e.message === 'reference clock disagrees with roughtime');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.fields.reason!, /outside .* of 4 of 4 answer/);
    assert.equal(errors[0]!.level, 'ERROR');
    // IETF Roughtime times are whole seconds: the offset is 10 s give or take one.
    assert.ok(Math.abs(Number(errors[0]!.fields.offset) - 10_000) <= 1_000, `offset ${errors[0]!.fields.offset} ms`);
    assert.ok(['rt-a', 'rt-b'].includes(errors[0]!.fields.server!), 'named after the worst disagreement');
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
  const servers = await liarAmongHonest();
  const stateDir = mkdtempSync(join(tmpdir(), 'saturn-state-'));
  try {
    const { result, events } = await round(servers, 0, stateDir);
    assert.ok(result.contradictions > 0);
    assert.ok(result.reportPath);
    const files = readdirSync(stateDir);
    assert.equal(files.length, 1);
    const verdict = verifyMalfeasanceReport(JSON.parse(readFileSync(join(stateDir, files[0]!), 'utf8')));
    assert.equal(verdict.valid, true, verdict.reason ?? undefined);
    const malfeasance = events.find((e) => e.fields.event === 'roughtime_malfeasance');
    assert.ok(malfeasance, 'a roughtime_malfeasance event names the contradicting pair');
    assert.match(malfeasance.fields.reason!, /contradict.*malfeasance report: .*roughtime-malfeasance/);
    const named = events.filter((e) => e.fields.event === 'falseticker');
    assert.deepEqual(
      named.map((e) => e.fields.name),
      ['roughtime liar'],
      'the liar, outvoted by the two honest servers, is named a falseticker once',
    );
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
    assert.deepEqual(result.failures, ['quiet']);
    assert.deepEqual(events, []);
    assert.ok(diag.some((l) => l.includes('did not answer')));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('the reference alarm, on a simulated clock: raise, silence, realert every interval, recovery; no answer proves nothing', () => {
  const clock = new SimClock();
  const alarm = new ReferenceAlarm(600e9);
  assert.equal(alarm.evaluate(clock.monotonic(), 2, 0), undefined, 'agreeing from the start: nothing to say');
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 0), undefined);
  assert.equal(alarm.evaluate(clock.monotonic(), 1, 1), 'raise');
  assert.equal(alarm.wrong, true);
  clock.advance(300e9);
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 2), undefined, 'still wrong, inside the realert interval');
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 0), undefined, 'no usable answer keeps the state');
  assert.equal(alarm.wrong, true);
  clock.advance(300e9);
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 2), 'realert');
  clock.step(-3_600e9); // a wall-clock step: the realert interval is monotonic
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 1), undefined);
  clock.advance(600e9);
  assert.equal(alarm.evaluate(clock.monotonic(), 0, 1), 'realert');
  assert.equal(alarm.evaluate(clock.monotonic(), 3, 0), 'recovered');
  assert.equal(alarm.wrong, false);
  assert.equal(alarm.evaluate(clock.monotonic(), 3, 0), undefined, 'recovered once');
  assert.throws(() => alarm.evaluate(0n, -1, 0), RangeError);
  assert.throws(() => new ReferenceAlarm(-1), RangeError);
});

test('the monitor raises reference_clock_wrong once, re-alerts every --realert, then reports reference_clock_recovered', async () => {
  // A generous RADI (10 s): the simulated clock is set against the real one between checks, and a
  // loaded machine may take seconds over a check; being an hour off is unmistakable either way.
  const servers = [await startTestServer({ name: 'rt-a', seed: 5, radiNs: 10e9 })];
  const events = sinkLines();
  // Simulated wall time, set to the server's (real) time plus `ahead` before each check; the
  // server answers at once, so no retry timer must fire.
  const HOUR_NS = 3_600_000_000_000n;
  const clock = new SimClock(new SystemClock().now() + HOUR_NS);
  const setAhead = (ahead: bigint): void => clock.step(new SystemClock().now() + ahead - clock.now());
  const logger = createDiagnostics({ level: 'error', format: 'json', sink: sinkLines().sink });
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
    stateDir: undefined,
    realertNs: 120e9,
  });
  const kinds = () => events.lines.map((line) => parseLlog(line)!.fields);
  try {
    assert.equal(monitor.state().state, 'unknown');
    setAhead(HOUR_NS);
    await monitor.check();
    assert.equal(monitor.state().state, 'wrong');
    assert.ok(Math.abs(monitor.state().offsetNs! - 3600e9) <= 60e9, `offset ${monitor.state().offsetNs}`);
    setAhead(HOUR_NS);
    await monitor.check();
    assert.equal(kinds().length, 1, 'a second wrong round inside --realert says nothing new');
    clock.advance(120e9); // the realert interval passes on the monotonic clock
    setAhead(HOUR_NS);
    await monitor.check();
    assert.deepEqual(
      kinds().map((f) => [f.event, f.repeat]),
      [
        ['reference_clock_wrong', undefined],
        ['reference_clock_wrong', 'true'],
      ],
    );
    setAhead(0n); // the clock is put right
    await monitor.check();
    assert.equal(monitor.state().state, 'ok');
    const last = parseLlog(events.lines.at(-1)!)!;
    assert.equal(last.level, 'INFO');
    assert.equal(last.message, 'reference clock agrees with roughtime again');
    assert.equal(last.fields.event, 'reference_clock_recovered');
    assert.equal(last.fields.server, 'rt-a');
    setAhead(0n);
    await monitor.check();
    assert.equal(events.lines.length, 3, 'recovered once');
  } finally {
    await monitor.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a server signing RADI 0 is a server fault: counted in the round and logged at WARN, and a correct clock stays right', async () => {
  const servers = [await startTestServer({ name: 'truncating', seed: 7, radiZero: true })];
  try {
    const { result, events, diag } = await round(servers, 0);
    assert.equal(result.answers.length, 1);
    assert.equal(result.serverFaults, 1);
    assert.equal(result.wrong.length, 0, 'RADI 0 read as 1 s: the local clock lies inside');
    assert.deepEqual(events, []);
    const faults = diag.map((l) => JSON.parse(l)).filter((l) => String(l.msg).startsWith('roughtime server fault'));
    assert.equal(faults.length, 1, diag.join('\n'));
    assert.equal(faults[0].level, 40, 'pino WARN');
    assert.equal(faults[0].server, 'truncating');
    assert.equal(faults[0].radi, 0);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a server signing a proper RADI is no server fault', async () => {
  const servers = [await startTestServer({ name: 'proper', seed: 8 })];
  try {
    const { result, diag } = await round(servers, 0);
    assert.equal(result.serverFaults, 0);
    assert.ok(!diag.some((l) => l.includes('server fault')), diag.join('\n'));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

for (const [lie, offsetNs] of [
  ['1 h', 3_600_000_000_000n],
  // IETF MIDP is whole seconds: a 2.5 s lie is 1.5-2.5 s off, always outside RADI (1 s) + RTT/2.
  ['2.5 s', 2_500_000_000n],
] as const) {
  test(`one server of three lying by ${lie} (validly signed) is named and outvoted: a correct clock raises nothing`, async () => {
    const servers = await liarAmongHonest(offsetNs);
    try {
      const { result, events, diag } = await round(servers, 0);
      assert.equal(result.answers.length, 6, 'three servers, queried twice');
      assert.ok(result.wrong.length > 0 && result.wrong.every((a) => a.server.name === 'liar'));
      assert.deepEqual(result.outvoted, ['liar']);
      assert.ok(
        !events.some((e) => e.fields.event === 'reference_clock_wrong'),
        `the liar alone must not raise the alarm on a correct clock: ${JSON.stringify(events)}`,
      );
      const named = diag.map((l) => JSON.parse(l)).find((l) => /majority/.test(l.msg));
      assert.equal(named?.server, 'liar', `the liar is named at WARN: ${diag.join('\n')}`);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
}

test('a clock 10 s ahead of three servers that agree with each other is wrong: none is outvoted', async () => {
  const servers = [
    await startTestServer({ name: 'rt-a', seed: 1 }),
    await startTestServer({ name: 'rt-b', seed: 2 }),
    await startTestServer({ name: 'rt-c', seed: 3 }),
  ];
  try {
    const { result, events } = await round(servers, 10e9);
    assert.deepEqual(result.outvoted, []);
    assert.equal(events.filter((e) => e.fields.event === 'reference_clock_wrong').length, 1);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('two servers that disagree cannot outvote each other: the alarm is raised, naming the one that disagrees', async () => {
  const servers = [
    await startTestServer({ name: 'honest', seed: 1 }),
    await startTestServer({ name: 'liar', seed: 2, offsetNs: 3_600_000_000_000n }),
  ];
  try {
    const { result, events } = await round(servers, 0);
    assert.deepEqual(result.outvoted, []);
    const raised = events.filter((e) => e.fields.event === 'reference_clock_wrong');
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.fields.server, 'liar');
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a malfeasance report the state dir cannot take is logged, the event still raised, and the round never throws', async () => {
  const servers = await liarAmongHonest();
  // A state dir that cannot be created or written (here a regular file stands where it should be:
  // as a full or read-only disk, but also for root).
  const parent = mkdtempSync(join(tmpdir(), 'saturn-state-'));
  const stateDir = join(parent, 'not-a-dir');
  writeFileSync(stateDir, '');
  try {
    const { result, events, diag } = await round(servers, 0, stateDir);
    assert.ok(result.contradictions > 0);
    assert.equal(result.reportPath, undefined);
    const malfeasance = events.find((e) => e.fields.event === 'roughtime_malfeasance');
    assert.match(malfeasance?.fields.reason ?? '', /malfeasance report: not written/);
    const logged = diag.map((l) => JSON.parse(l)).find((l) => l.report !== undefined);
    assert.ok(logged, `the report is logged instead: ${diag.join('\n')}`);
    assert.match(logged.msg, /malfeasance report/);
    assert.match(logged.err ?? '', /EEXIST|ENOTDIR/);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('the same servers contradicting each other round after round: one report and one event, again after a round without', async () => {
  // The liar answers its two requests of each of rounds 1-3, is silent through round 4 (two
  // queries of three attempts), then answers again.
  const servers = await liarAmongHonest(DAY_NS, (n) => (n > 6 && n <= 12 ? 'silent' : 'answer'));
  const stateDir = mkdtempSync(join(tmpdir(), 'saturn-state-'));
  const { monitor, journal, events } = monitorOf(servers, 0, stateDir);
  const kinds = () => events.lines.map((l) => parseLlog(l)!.fields.event);
  const reports = () => readdirSync(stateDir).filter((f) => f.startsWith('roughtime-malfeasance-')).length;
  try {
    for (let i = 0; i < 3; i++) assert.ok((await monitor.check()).contradictions > 0);
    await journal.flushed();
    assert.equal(reports(), 1, 'one proof is enough while the same servers keep contradicting each other');
    // The liar, outvoted, is named once: a falseticker until it tells the time again.
    assert.deepEqual(kinds(), ['falseticker', 'roughtime_malfeasance']);
    assert.equal((await monitor.check()).contradictions, 0, 'the liar silent');
    assert.ok((await monitor.check()).contradictions > 0);
    await journal.flushed();
    assert.equal(reports(), 2);
    assert.deepEqual(
      kinds(),
      ['falseticker', 'roughtime_malfeasance', 'roughtime_malfeasance'],
      'silent, it stays named',
    );
  } finally {
    await monitor.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a Roughtime server the others outvote is named a falseticker once, and recovered once it tells the time again', async () => {
  // The test server reads its offset at every answer: the liar can mend its ways between rounds.
  const liar: { name: string; seed: number; offsetNs: bigint } = { name: 'liar', seed: 2, offsetNs: DAY_NS };
  const servers = [
    await startTestServer({ name: 'honest-1', seed: 1 }),
    await startTestServer(liar),
    await startTestServer({ name: 'honest-2', seed: 3 }),
  ];
  const { monitor, journal, events } = monitorOf(servers, 0);
  try {
    const aboutLiar = () => events.lines.map((l) => parseLlog(l)!.fields).filter((f) => f.name === 'roughtime liar');
    await monitor.check();
    await monitor.check();
    await journal.flushed();
    assert.deepEqual(
      aboutLiar().map((f) => f.event),
      ['falseticker'],
      'named once over two rounds',
    );
    liar.offsetNs = 0n;
    await monitor.check();
    await monitor.check();
    await journal.flushed();
    assert.deepEqual(
      aboutLiar().map((f) => f.event),
      ['falseticker', 'falseticker_recovered'],
      'recovered once',
    );
  } finally {
    await monitor.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});
