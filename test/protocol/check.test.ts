import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckResponder } from '../../src/protocol/responder.js';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { Envelope, MAX_DATAGRAM_BYTES } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { KEY, SimExchange, instant } from './exchange.js';

test('a check measures a slave 750 ms ahead with the sign right and a tight bound', () => {
  const x = new SimExchange({ slaveOffsetNs: 750e6, forwardNs: 100_000, backNs: 100_000 });
  const result = x.runCheck();
  assert.ok(result?.ok, 'the check completed');
  assert.ok(Math.abs(result.offsetNs - 750e6) <= result.errorNs, `offset ${result.offsetNs} ± ${result.errorNs}`);
  assert.ok(result.errorNs < 150_000);
  assert.equal(result.samples, 5, 'equal delays tie at the 80th percentile cut, and ties are kept');
  // rounds + 1 reports, rounds responses + 1 result
  assert.equal(x.sentBySlave.length, 6);
  assert.equal(x.sentByMaster.length, 6);
});

test('a slave behind the master gets a negative offset; asymmetric delay stays inside the bound', () => {
  const x = new SimExchange({ slaveOffsetNs: -2e9, forwardNs: 5_000_000, backNs: 10_000 });
  const result = x.runCheck()!;
  assert.ok(result.ok);
  assert.ok(result.offsetNs < 0);
  assert.ok(Math.abs(result.offsetNs - -2e9) <= result.errorNs);
});

test('a replayed leg never matches: after the check, before it, and to the slave', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  assert.ok(x.runCheck()?.ok);
  const leg2 = x.sentBySlave[2]!;
  const before = x.masterOutcomes.length;
  assert.equal(x.toMaster(leg2), undefined, 'a replayed middle leg gets no answer');
  assert.deepEqual(x.masterOutcomes[before], { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' });
  // The slave does not accept an old response: it is not in a check any more, or not this one.
  const oldResponse = x.sentByMaster[1]!;
  const reply = x.toSlave(oldResponse);
  assert.deepEqual(reply, {});
  assert.equal(x.slaveOutcomes.at(-1)?.kind, 'drop');
  // A replay into a new check of the same slave is not part of it either.
  x.slave.start('master', 0).outgoing.build(x.slaveNow());
  assert.deepEqual(x.toSlave(oldResponse), {});
  assert.deepEqual(x.slaveOutcomes.at(-1), { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' });
});

test('a duplicated report is answered from the cache with the same bytes and adds no sample', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  const leg0 = x.slave.start('master', 0).outgoing.build(x.slaveNow());
  const first = x.toMaster(leg0)!;
  const again = x.toMaster(leg0)!;
  assert.deepEqual([...again], [...first]);
  assert.equal(x.masterOutcomes[1]?.kind === 'reply' && x.masterOutcomes[1].duplicate, true);
  // The check still completes with exactly `rounds` samples.
  let datagram = x.toSlave(first).reply;
  while (datagram) {
    const answer = x.toMaster(datagram)!;
    const step = x.toSlave(answer);
    if (step.result) {
      assert.ok(step.result.ok);
      // The first sample's t1 is the first send, so its delay includes the duplicate's detour:
      // it is the widest and the 80th-percentile filter leaves it out.
      assert.equal(step.result.samples, 4);
      break;
    }
    datagram = step.reply;
  }
  assert.equal(x.finished().length, 1);
  assert.equal(x.sentBySlave.length, 5, 'legs 1..5: the duplicate did not cost a leg');
});

test('a report with a valid MAC but the wrong echo is dropped (forged or crossed legs)', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const leg0 = x.slave.start('master', 0).outgoing.build(x.slaveNow());
  x.toMaster(leg0);
  const forged = new Envelope(KeyRing.single(KEY)).seal(
    encodeMessage(
      {
        kind: 'report',
        session: sessionOf(leg0),
        leg: 1,
        nonce: new Uint8Array(16),
        echo: new Uint8Array(16).fill(9),
        nodeId: 'web-3',
        receivedAt: 1n,
        sentAt: 2n,
        clockSteps: 0,
        cookie: new Uint8Array(0),
        intervalNs: 0,
        peerResults: [],
      },
      200,
    ),
  );
  assert.equal(x.toMaster(forged), undefined);
  assert.deepEqual(x.masterOutcomes.at(-1), { kind: 'drop', code: 'SATURN_ERR_BAD_ECHO' });
});

test('datagrams under another key are dropped as bad_mac, by master and slave alike', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const stranger = new CheckInitiator({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode('the-wrong-key-0123456'))),
    nodeId: 'x',
  });
  assert.equal(x.toMaster(stranger.start('master', 0).outgoing.build(instant(1n))), undefined);
  assert.deepEqual(x.masterOutcomes.at(-1), { kind: 'drop', code: 'SATURN_ERR_BAD_MAC', keyId: 0 });
  const strangerMaster = new CheckResponder({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode('the-wrong-key-0123456'))),
  });
  const leg0 = x.slave.start('master', 0).outgoing.build(x.slaveNow());
  const o = strangerMaster.handle(leg0, '127.0.0.1', 1, instant(5n), 0);
  assert.deepEqual(o, { kind: 'drop', code: 'SATURN_ERR_BAD_MAC', keyId: 0 });
});

test('the session table is bounded: the oldest session is dropped first', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000, maxSessions: 2 });
  const slaves = [0, 1, 2].map(
    (i) => new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId: `n${i}`, random: seeded(i + 1) }),
  );
  for (const s of slaves) x.prime(s);
  const firstAnswers = slaves.map((s) => x.toMaster(s.start('master', 0).outgoing.build(x.slaveNow()))!);
  assert.equal(x.master.sessions.size, 2);
  assert.equal(x.master.sessions.evicted, 1);
  // The evicted (oldest) slave's next leg finds no session; the newest goes on.
  const oldest = slaves[0]!.handle(firstAnswers[0]!, x.slaveNow(), 0);
  assert.equal(oldest.kind, 'reply');
  assert.equal(x.toMaster(oldest.kind === 'reply' ? oldest.reply.build(x.slaveNow()) : new Uint8Array()), undefined);
  assert.deepEqual(x.masterOutcomes.at(-1), { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' });
  const newest = slaves[2]!.handle(firstAnswers[2]!, x.slaveNow(), 0);
  assert.ok(newest.kind === 'reply' && x.toMaster(newest.reply.build(x.slaveNow())) !== undefined);
});

test('a clock step on either side during a check discards it, and the slave is told why', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const leg0 = x.slave.start('master', 0).outgoing.build(x.slaveNow());
  let answer = x.toMaster(leg0)!;
  x.masterClock.step(5_000_000);
  let result;
  for (let i = 0; i < 20 && !result; i++) {
    const step = x.toSlave(answer);
    result = step.result;
    if (step.reply) answer = x.toMaster(step.reply)!;
  }
  assert.equal(result?.ok, false);
  assert.match(result!.reason, /clock stepped/);
  assert.equal(x.finished()[0]?.outcome.ok, false);

  const y = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const orig = y.toSlave.bind(y);
  let legs = 0;
  y.toSlave = (d) => {
    if (++legs === 3) y.slaveSteps++;
    return orig(d);
  };
  assert.equal(y.runCheck()?.ok, false);
});

function sessionOf(datagram: Uint8Array): bigint {
  const opened = new Envelope(KeyRing.single(KEY)).open(datagram);
  assert.ok(opened.ok);
  const message = decodeMessage(opened.payload);
  assert.ok(message?.kind === 'report');
  return message.session;
}

function seeded(seed: number) {
  let s = seed;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    return out;
  };
}

test('a report without a node name, or with an absurd one, is dropped as undecodable', () => {
  for (const nodeId of ['', 'x'.repeat(256)]) {
    const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
    const odd = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId });
    assert.equal(x.toMaster(odd.start('master', 0).outgoing.build(instant(1n))), undefined);
    assert.deepEqual(x.masterOutcomes.at(-1), { kind: 'drop', code: 'SATURN_ERR_DECODE' });
  }
});

test('a Report never outgrows what a responder reads: padding capped, peer results that do not fit left out', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  // 16 peers with long names: padded to 192 + 64 x 16 bytes and 16 results of ~200 bytes asked for.
  const peerResults = Array.from({ length: 16 }, (_, i) => ({
    peerId: `${'p'.repeat(190)}-${i}`,
    offsetNs: 1000,
    errorNs: 2000,
    rttNs: 3000,
    ageNs: 1e9,
  }));
  const result = x.runCheck({ padToBytes: 192 + 64 * 16, peerResults });
  assert.ok(result?.ok, 'the check completed (nothing was dropped as long_packet)');
  for (const datagram of x.sentBySlave) assert.ok(datagram.length <= MAX_DATAGRAM_BYTES, `${datagram.length} bytes`);
  const reported = x.finished()[0]!.peerResults;
  assert.ok(reported.length > 0 && reported.length < 16, `${reported.length} results fit`);
  assert.deepEqual(
    reported.map((r) => r.peerId),
    peerResults.slice(16 - reported.length).map((r) => r.peerId),
    'the newest kept',
  );
});
