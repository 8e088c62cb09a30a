import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SaturnError } from '../../src/errors.js';
import { verifyMalfeasanceReport, writeMalfeasanceReport } from '../../src/roughtime/chain.js';
import { queryChain, queryServer } from '../../src/roughtime/client.js';
import { startTestServer, testClock, type TestServer } from './test-server.js';

const fast = { initialMs: 200 };

async function withServers<T>(servers: TestServer[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

test('queries a loopback server: version 1, verified, local clock inside the interval', async () => {
  const local = await startTestServer();
  await withServers([local], async () => {
    const answer = await queryServer(local.server, { clock: testClock(), backoff: { initialMs: 2000 } });
    assert.equal(answer.result.valid, true);
    assert.equal(answer.result.version, '1');
    assert.equal(answer.attempts, 1);
    assert.deepEqual(answer.rejected, []);
    assert.ok(answer.rttNs > 0 && answer.rttNs < 2e9);
    // The test server states whole seconds (the unit of version 1), so the offset is under a second.
    assert.ok(Math.abs(answer.offsetNs) < 1.1e9, `offset ${answer.offsetNs}`);
    assert.equal(answer.withinInterval, true);
    assert.equal(local.received(), 1);
  });
});

test('RADI 0 (a truncated sub-second radius) counts as the 1 s resolution: a correct clock is inside; a server fault', async () => {
  const local = await startTestServer({ seed: 31, radiZero: true });
  await withServers([local], async () => {
    const answer = await queryServer(local.server, { clock: testClock(), backoff: { initialMs: 2000 } });
    assert.equal(answer.result.valid, true);
    assert.equal(answer.result.radi, 0);
    assert.equal(answer.result.radiBelowResolution, true);
    assert.equal(answer.result.radiNs, 1e9);
    // MIDP is the server's time floored to the second: this clock is up to 1 s past it, and right.
    assert.ok(answer.uncertaintyNs >= 1e9);
    assert.equal(answer.withinInterval, true, `offset ${answer.offsetNs} ns`);
  });
});

test('offers what the list entry says: Google and a single draft version', async () => {
  const local = await startTestServer({ seed: 2 });
  await withServers([local], async () => {
    const google = await queryServer(
      { ...local.server, versions: 'google' },
      { clock: testClock(), backoff: { initialMs: 2000 } },
    );
    assert.equal(google.result.version, 'google');
    assert.equal(google.request.byteLength, 1024);
    const draft = await queryServer(
      { ...local.server, versions: [0x8000000b] },
      { clock: testClock(), backoff: { initialMs: 2000 } },
    );
    assert.equal(draft.result.version, '0x8000000b');
  });
});

test('greased and garbage answers are rejected and retried, never trusted', async () => {
  const local = await startTestServer({
    seed: 3,
    behaviour: (n) => (n === 1 ? 'grease' : n === 2 ? 'garbage' : 'answer'),
  });
  await withServers([local], async () => {
    const answer = await queryServer(local.server, { clock: testClock(), attempts: 4, backoff: { initialMs: 2000 } });
    assert.equal(answer.attempts, 3);
    assert.equal(answer.rejected.length, 2);
    assert.match(answer.rejected[0]!, /not signed by the delegated key/);
    assert.ok(Math.abs(answer.offsetNs) < 1.1e9, 'the greased time (a day off) was not used');
    assert.equal(local.received(), 3);
  });
});

test('a server that greases every answer yields a timeout error, not a time', async () => {
  const local = await startTestServer({ seed: 4, behaviour: () => 'grease' });
  await withServers([local], async () => {
    await assert.rejects(
      queryServer(local.server, { clock: testClock(), attempts: 3, backoff: { initialMs: 2000 } }),
      (error: unknown) => {
        assert.ok(error instanceof SaturnError);
        assert.equal(error.code, 'SATURN_ERR_RT_TIMEOUT');
        assert.match(error.message, /rejected 3 invalid answer/);
        return true;
      },
    );
  });
});

test('a silent server: retried with backoff, then SATURN_ERR_RT_TIMEOUT', async () => {
  const local = await startTestServer({ seed: 5, behaviour: () => 'silent' });
  await withServers([local], async () => {
    const started = performance.now();
    await assert.rejects(
      queryServer(local.server, { clock: testClock(), attempts: 3, backoff: { initialMs: 40 } }),
      (error: unknown) =>
        error instanceof SaturnError &&
        error.code === 'SATURN_ERR_RT_TIMEOUT' &&
        // A server drops requests naming another key (SRV): a wrong key looks like silence, so the sentence says so.
        error.message ===
          `${local.server.name} did not answer 3 request(s): it is down or unreachable, or it does not hold the public key given (a server ignores requests for another key)`,
    );
    const elapsed = performance.now() - started;
    // 40 + 60 + 90 ms of waiting.
    assert.ok(elapsed >= 185, `gave up after ${elapsed} ms`);
    assert.equal(local.received(), 3);
  });
});

test('a dropped first request is retried and the answer to the retry accepted', async () => {
  const local = await startTestServer({ seed: 6, behaviour: (n) => (n === 1 ? 'silent' : 'answer') });
  await withServers([local], async () => {
    // The first wait is short (the first request is never answered); the second, 1.5 s, is more
    // than a loaded machine takes to answer and verify the retry (at 75 ms a third was sometimes sent).
    const answer = await queryServer(local.server, { clock: testClock(), attempts: 3, backoff: { initialMs: 1000 } });
    assert.equal(answer.attempts, 2);
    assert.deepEqual(answer.rejected, []);
  });
});

test('an aborted query stops with a typed error', async () => {
  const local = await startTestServer({ seed: 7, behaviour: () => 'silent' });
  await withServers([local], async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(
      queryServer(local.server, { clock: testClock(), backoff: { initialMs: 5000 }, signal: controller.signal }),
      (error: unknown) => error instanceof SaturnError && /aborted/.test(error.message),
    );
  });
});

test('a chain over three servers, one a day ahead, twice: the report proves it and verifies', async () => {
  const honest1 = await startTestServer({ seed: 8, name: 'honest-1' });
  const liar = await startTestServer({ seed: 9, name: 'liar', offsetNs: 86_400_000_000_000n });
  const honest2 = await startTestServer({
    seed: 10,
    name: 'honest-2',
    behaviour: (n) => (n === 1 ? 'silent' : 'answer'),
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'saturn-rt-'));
  await withServers([honest1, liar, honest2], async () => {
    const sequence = [honest1.server, liar.server, honest2.server, honest1.server, liar.server, honest2.server];
    const outcome = await queryChain(sequence, { clock: testClock(), attempts: 3, backoff: { initialMs: 100 } });
    assert.equal(outcome.links.length, 6);
    assert.equal(outcome.failures.length, 0);
    // liar (1) before honest-2 (2), honest-1 (3); liar (4) before honest-2 (5).
    assert.deepEqual(outcome.contradictions, [
      { earlier: 1, later: 2 },
      { earlier: 1, later: 3 },
      { earlier: 1, later: 5 },
      { earlier: 4, later: 5 },
    ]);
    assert.ok(outcome.report);
    assert.equal(outcome.report.responses[0]!.rand, undefined);
    const file = path.join(dir, 'nested', 'report.json');
    await writeMalfeasanceReport(file, outcome.report);
    const verdict = verifyMalfeasanceReport(JSON.parse(await readFile(file, 'utf8')));
    assert.equal(verdict.reason, null);
    assert.equal(verdict.valid, true);
    assert.equal(verdict.contradictions.length, 4);
  });
  await rm(dir, { recursive: true, force: true });
});

test('an honest chain has no contradictions and no report; a failed server leaves a gap', async () => {
  const a = await startTestServer({ seed: 11 });
  const silent = await startTestServer({ seed: 12, behaviour: () => 'silent' });
  const b = await startTestServer({ seed: 13 });
  await withServers([a, silent, b], async () => {
    const outcome = await queryChain([a.server, silent.server, b.server], {
      clock: testClock(),
      attempts: 2,
      backoff: fast,
    });
    assert.equal(outcome.links.length, 2);
    assert.equal(outcome.failures.length, 1);
    assert.equal(outcome.contradictions.length, 0);
    assert.equal(outcome.report, undefined);
    assert.equal(outcome.answers.length, 2);
  });
});
