/**
 * The attacks of the loopback attack run, replayed against the responder: captured openings
 * replayed late and from elsewhere, copies of the last leg, a key holder opening half-open
 * sessions at full rate. Each fails on the responder before cookies, padding and per-source
 * limits (a replayed leg 0 opened a session and drew 107 bytes for 78).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import { CheckResponder, sourceOf } from '../../src/protocol/responder.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { REPORT_MIN_BYTES } from '../../src/wire/messages.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { KEY, SimExchange, instant } from './exchange.js';

const S = 1e9;

/** Delivers `datagram` to the master from `ip:port`; returns the reply bytes (if any) and the outcome. */
function deliver(x: SimExchange, datagram: Uint8Array, ip = '127.0.0.1', port = 5000) {
  const outcome = x.master.handle(datagram, ip, port, x.masterClock.read(), 0);
  const reply = outcome.kind === 'reply' ? outcome.reply.build(x.masterClock.read()) : undefined;
  return { outcome, reply };
}

test('a leg 0 replayed after the session is gone never opens a session, and no reply outgrows it', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  assert.ok(x.runCheck()?.ok);
  const leg0 = x.sentBySlave[0]!;
  for (const afterNs of [11 * S, 61 * S, 119 * S, 3600 * S, 86_400 * S]) {
    x.masterClock.advance(afterNs);
    assert.ok(x.runCheck()?.ok, 'other checks go on (they make the table forget old sessions)');
    const sessions = x.master.sessions.size;
    for (const [ip, port] of [
      ['127.0.0.1', 5000],
      ['127.0.0.1', 6000],
      ['10.66.6.6', 4123],
    ] as const) {
      for (let copy = 0; copy < 50; copy++) {
        const { outcome, reply } = deliver(x, leg0, ip, port);
        assert.notEqual(outcome.kind, 'finished');
        if (reply) {
          assert.ok(reply.length <= leg0.length, `${reply.length}-byte reply to a ${leg0.length}-byte replay`);
          const opened = new Envelope(KeyRing.single(KEY)).open(reply);
          assert.equal(opened.ok && decodeMessage(opened.payload)?.kind, 'cookie', 'a late copy gets a cookie at most');
        } else {
          assert.deepEqual(outcome, { kind: 'drop', code: 'SATURN_ERR_REPLAY' });
        }
      }
    }
    assert.ok(x.master.sessions.size <= sessions, `a replay ${afterNs / S} s later opened a session`);
  }
});

test('a leg 0 replayed while its cookie is still valid is dropped and counted as a replay, from anywhere it was minted for', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  assert.ok(x.runCheck()?.ok);
  x.masterClock.advance(30 * S); // the session is gone (idle), the cookie is not
  assert.deepEqual(deliver(x, x.sentBySlave[0]!).outcome, { kind: 'drop', code: 'SATURN_ERR_REPLAY' });
  x.master.sessions.expire(x.masterClock.monotonic());
  assert.equal(x.master.sessions.size, 0);
});

test('a copy of the last leg is answered from the cache only to the address the session belongs to', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 50_000, backNs: 50_000 });
  assert.ok(x.runCheck()?.ok);
  const lastLeg = x.sentBySlave.at(-1)!;
  const result = x.sentByMaster.at(-1)!;
  const again = deliver(x, lastLeg);
  assert.equal(again.outcome.kind === 'reply' && again.outcome.duplicate, true);
  assert.deepEqual([...again.reply!], [...result], 'the same bytes, to the same address');
  for (const [ip, port] of [
    ['127.0.0.1', 5001],
    ['192.0.2.1', 5000],
  ] as const) {
    const elsewhere = deliver(x, lastLeg, ip, port);
    assert.deepEqual(elsewhere.outcome, { kind: 'drop', code: 'SATURN_ERR_REPLAY' });
  }
});

test('no reply is larger than the Report that caused it: Responses, Cookies and Results, discard reasons cut to fit', () => {
  for (const nodeId of ['a', 'web-3', 'x'.repeat(200)]) {
    for (const slaveOffsetNs of [0, 3 * 3600 * S, -2 * 86_400 * S]) {
      const x = new SimExchange({ slaveOffsetNs, forwardNs: 80_000, backNs: 20_000, primed: false });
      const slave = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId });
      // A slave whose clock steps mid-check gets the longest Result: a discard with its reason.
      for (const stepAtLeg of [-1, 2]) {
        let datagram: Uint8Array | undefined = slave.start('master', 0).outgoing.build(x.slaveNow());
        for (let leg = 0; datagram && leg < 20; leg++) {
          assert.ok(datagram.length >= REPORT_MIN_BYTES, `a ${datagram.length}-byte Report`);
          const reply = x.toMaster(datagram);
          if (!reply) break;
          assert.ok(reply.length <= datagram.length, `${reply.length} bytes answered ${datagram.length}`);
          const outcome = slave.handle(reply, x.slaveNow(), leg >= stepAtLeg && stepAtLeg >= 0 ? 1 : 0);
          datagram = outcome.kind === 'reply' ? outcome.reply.build(x.slaveNow()) : undefined;
          if (outcome.kind === 'result') assert.equal(outcome.result.ok, stepAtLeg < 0);
        }
      }
    }
  }
});

test('a Report shorter than the padded minimum is dropped before its MAC is checked', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const unpadded = new Envelope(KeyRing.single(KEY)).seal(
    encodeMessage({
      kind: 'report',
      session: 1n,
      leg: 0,
      nonce: new Uint8Array(16),
      echo: new Uint8Array(0),
      nodeId: 'web-3',
      receivedAt: 0n,
      sentAt: 1n,
      clockSteps: 0,
      cookie: new Uint8Array(0),
      intervalNs: 0,
      peerResults: [],
    }),
  );
  assert.ok(unpadded.length < REPORT_MIN_BYTES);
  assert.deepEqual(deliver(x, unpadded).outcome, { kind: 'drop', code: 'SATURN_ERR_SHORT_PACKET' });
});

test('the first check costs one round trip for the cookie; the Result carries the next one; a new master hands out a new one', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000, primed: false });
  assert.ok(x.runCheck()?.ok);
  assert.equal(x.master.cookiesSent, 1);
  assert.equal(x.sentBySlave.length, 7, 'leg 0 twice, then legs 1-5');
  x.masterClock.advance(10 * S);
  assert.ok(x.runCheck()?.ok);
  assert.equal(x.master.cookiesSent, 1, 'the second check opened with the cookie of the first Result');
  x.masterClock.advance(150 * S); // both of the cookie's generations are retired: the cookie is stale
  assert.ok(x.runCheck()?.ok);
  assert.equal(x.master.cookiesSent, 2);
});

test('a cookie is bound to the source address it was minted for', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const leg0 = x.slave.start('master', 0).outgoing.build(x.slaveNow());
  const moved = deliver(x, leg0, '198.51.100.7', 5000);
  assert.equal(moved.outcome.kind, 'reply');
  assert.equal(x.master.sessions.size, 0, 'from another address: a cookie, no session');
  assert.equal(x.master.cookiesSent, 2);
});

test('a key holder opening leg-0-only sessions at full rate from one source is limited; a real slave still checks', () => {
  const x = new SimExchange({ slaveOffsetNs: 0, forwardNs: 10_000, backNs: 10_000 });
  const attacker = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId: 'flood' });
  const attackerIp = '203.0.113.9';
  const cookie = deliver(x, attacker.start('master', 0).outgoing.build(x.slaveNow()), attackerIp);
  attacker.handle(cookie.reply!, x.slaveNow(), 0);
  let limited = 0;
  for (let i = 0; i < 100_000; i++) {
    if (i % 1000 === 0) x.masterClock.advance(S / 100); // 100,000 openings a second
    const { outcome } = deliver(
      x,
      attacker.start('master', 0).outgoing.build(x.slaveNow()),
      attackerIp,
      40_000 + (i % 20_000),
    );
    if (outcome.kind === 'drop' && outcome.code === 'SATURN_ERR_RATE_LIMITED') limited++;
  }
  const opened = 100_000 - limited;
  assert.ok(opened <= 100 + 50 + 1, `${opened} sessions opened in one second (burst 100, 50 a second)`);
  assert.ok(x.master.sessions.size <= opened);
  assert.ok(x.runCheck()?.ok, 'a slave at another address completes its check');
});

test('sources are IPv4 addresses and IPv6 /64s', () => {
  assert.equal(sourceOf('192.0.2.1'), '192.0.2.1');
  assert.equal(sourceOf('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(sourceOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(sourceOf('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  assert.equal(sourceOf('2001:DB8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceOf('::1'), '0:0:0:0::/64');
});

test('a node the admit rule refuses opens no session (the fleet bound)', () => {
  const responder = new CheckResponder({ envelope: new Envelope(KeyRing.single(KEY)), admit: (id) => id !== 'web-9' });
  const slave = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId: 'web-9' });
  const at = instant(1_700_000_000_000_000_000n, 5n);
  const cookie = responder.handle(slave.start('master', 0).outgoing.build(at), '127.0.0.1', 1, at, 0);
  assert.equal(cookie.kind, 'reply');
  const again = slave.handle(cookie.kind === 'reply' ? cookie.reply.build(at) : new Uint8Array(), at, 0);
  assert.equal(again.kind, 'reply');
  const refused = responder.handle(
    again.kind === 'reply' ? again.reply.build(at) : new Uint8Array(),
    '127.0.0.1',
    1,
    at,
    0,
  );
  assert.deepEqual(refused, { kind: 'drop', code: 'SATURN_ERR_FLEET_FULL' });
  assert.equal(responder.sessions.size, 0);
});

test('slaves hours and days off are measured like any other: nothing relies on their clock', () => {
  for (const offsetNs of [3 * 3600 * S, -2 * 86_400 * S]) {
    const x = new SimExchange({ slaveOffsetNs: offsetNs, forwardNs: 100_000, backNs: 100_000, primed: false });
    for (let check = 0; check < 3; check++) {
      const result = x.runCheck();
      assert.ok(result?.ok, `check ${check} of a slave ${offsetNs / S} s off`);
      assert.ok(Math.abs(result.offsetNs - offsetNs) <= result.errorNs);
      x.masterClock.advance(10 * S);
    }
  }
});
