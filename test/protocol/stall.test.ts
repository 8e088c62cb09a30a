import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FinishedCheck, CheckResponder } from '../../src/protocol/responder.js';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { KEY, instant, primeInitiator } from './exchange.js';

const MS = 1_000_000n;

/**
 * One check with a 1 ms link each way and a chosen hold (receive to send) per leg in the slave
 * and in the master, on one true timeline; returns the master's finished check.
 */
function runCheck(options: {
  slaveHoldNs?: (leg: number) => bigint;
  masterHoldNs?: (leg: number) => bigint;
  maxHoldNs?: number;
}): FinishedCheck {
  const master = new CheckResponder({
    envelope: new Envelope(KeyRing.single(KEY)),
    rounds: 4,
    resolutionNs: 2,
    maxHoldNs: options.maxHoldNs,
  });
  const slave = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId: 'paused' });
  let now = 1_700_000_000_000_000_000n;
  primeInitiator(master, slave, instant(now, now));
  let datagram = slave.start('master', 0).outgoing.build(instant(now, now));
  for (let leg = 0; leg < 10; leg++) {
    now += MS; // slave -> master
    const outcome = master.handle(datagram, '127.0.0.1', 5000, instant(now, now), 0);
    now += options.masterHoldNs?.(leg) ?? 10_000n;
    if (outcome.kind === 'finished') return outcome.finished;
    assert.equal(outcome.kind, 'reply');
    if (outcome.kind !== 'reply') throw new Error('unreachable');
    const response = outcome.reply.build(instant(now, now));
    now += MS; // master -> slave
    const answer = slave.handle(response, instant(now, now), 0);
    if (answer.kind !== 'reply') throw new Error(`slave did not answer: ${answer.kind}`);
    now += options.slaveHoldNs?.(leg) ?? 20_000n;
    datagram = answer.reply.build(instant(now, now));
  }
  throw new Error('check did not finish');
}

describe('CheckResponder: a leg that waited implausibly long voids the check', () => {
  it('keeps a check whose legs were handled promptly', () => {
    const finished = runCheck({});
    assert.equal(finished.outcome.ok, true);
    assert.equal(finished.samples.length, 4);
  });

  it('discards the check when the slave held a leg beyond the limit (a pause in the slave)', () => {
    const finished = runCheck({ slaveHoldNs: (leg) => (leg === 2 ? 80n * MS : 20_000n) });
    assert.equal(finished.outcome.ok, false);
    assert.equal(!finished.outcome.ok && finished.outcome.code, 'SATURN_ERR_STALLED');
    assert.match(!finished.outcome.ok ? finished.outcome.detail : '', /slave held leg 3 for 80000000 ns/);
  });

  it('discards the check when the master held a leg beyond the limit (a pause in the master)', () => {
    const finished = runCheck({ masterHoldNs: (leg) => (leg === 1 ? 60n * MS : 10_000n) });
    assert.equal(!finished.outcome.ok && finished.outcome.code, 'SATURN_ERR_STALLED');
    assert.match(!finished.outcome.ok ? finished.outcome.detail : '', /master held leg 1/);
  });

  it('takes the limit from maxHoldNs', () => {
    assert.equal(runCheck({ slaveHoldNs: () => 5n * MS, maxHoldNs: 10e6 }).outcome.ok, true);
    assert.equal(runCheck({ slaveHoldNs: () => 5n * MS, maxHoldNs: 4e6 }).outcome.ok, false);
    assert.throws(() => new CheckResponder({ envelope: new Envelope(KeyRing.single(KEY)), maxHoldNs: 0 }), RangeError);
  });
});
