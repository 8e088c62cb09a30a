/**
 * The slave's timers (interval, retransmission, giving up) on the simulated clock, over a
 * simulated network to an in-process master core: deterministic, and minutes of protocol time
 * run in milliseconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import { buildConfig } from '../../src/config/build-config.js';
import type { SaturnEvent } from '../../src/events/event.js';
import { EventJournal } from '../../src/events/journal.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { LlogWriter } from '../../src/log/llog.js';
import type { Reply } from '../../src/pipeline/pipeline.js';
import { CheckResponder } from '../../src/protocol/responder.js';
import { SlaveService } from '../../src/service/slave-service.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { parseLlog } from '../helpers/saturn-process.js';
import { lineSink, testLogger } from '../helpers/sinks.js';

const KEY = 'simulated-network-key-0123456789';
const ONE_WAY_NS = 100_000;
const S = 1e9;

/** A slave and a master core joined by a simulated link that can be cut. */
function simulated() {
  const clock = new SimClock();
  const stdout = lineSink();
  const events: SaturnEvent[] = [];
  const journal = new EventJournal({
    reporter: 'web-1',
    sequence: new MemorySequence(),
    clock,
    logger: testLogger().logger,
  });
  journal.subscribe((e) => events.push(e));
  const master = new CheckResponder({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode(KEY))),
    rounds: 5,
  });
  /** `up: false` loses everything; `lose` holds the indexes (0-based, in send order) of datagrams to lose. */
  const link = { up: true, toMaster: 0, lose: new Set<number>() };
  const config = buildConfig({ masterAddr: '127.0.0.1:4123', hmacKey: KEY, name: 'web-1', interval: '10s' });
  let slave: SlaveService;
  const transport = {
    send(_to: unknown, reply: Reply) {
      const bytes = typeof reply === 'function' ? reply(clock.read()) : reply;
      const index = link.toMaster++;
      if (!link.up || link.lose.has(index)) return;
      clock.setTimer(ONE_WAY_NS, () => {
        const outcome = master.handle(bytes, '127.0.0.1', 40000, clock.read(), 0);
        const answer =
          outcome.kind === 'reply'
            ? outcome.reply.build(clock.read())
            : outcome.kind === 'finished'
              ? outcome.conclude({ offsetNs: 0, errorNs: 1000, rttNs: 2000, samples: 4 }).build(clock.read())
              : undefined;
        if (answer)
          clock.setTimer(ONE_WAY_NS, () =>
            slave.onDatagram(answer, clock.read(), { address: '127.0.0.1', port: 4123 }),
          );
      });
    },
  };
  slave = new SlaveService(
    config,
    { clock, logger: testLogger().logger, llog: new LlogWriter(stdout), journal, random: () => 0.5 },
    transport,
  );
  const lines = () => stdout.lines.map((l) => parseLlog(l)!);
  return { clock, slave, link, events, lines, journal };
}

test('a check every interval; each logs the offset the master found', () => {
  const { clock, slave, lines } = simulated();
  slave.begin();
  clock.advance(35 * S);
  assert.equal(slave.checksCompleted, 4, 'at 0, 10, 20 and 30 s');
  assert.equal(lines().filter((l) => l.message === 'slave offset').length, 4);
});

test('a silent master: each leg is sent 4 times 1 s apart, then master_unreachable, once; back: master_reachable', async () => {
  const { clock, slave, link, events, journal } = simulated();
  link.up = false;
  slave.begin();
  clock.advance(3.5 * S);
  await journal.flushed();
  assert.equal(link.toMaster, 4, 'leg 0 and 3 retransmissions');
  assert.equal(events.length, 0);
  clock.advance(1 * S);
  await journal.flushed();
  assert.deepEqual(
    events.map((e) => e.kind),
    ['master_unreachable'],
  );
  assert.match(events[0]!.detail!, /^no answer from the master \(a wrong or retired HMAC key looks the same/);
  clock.advance(20 * S); // two more checks fail: no new event
  await journal.flushed();
  assert.equal(events.length, 1);
  assert.equal(slave.checksFailed, 3);
  link.up = true;
  clock.advance(10 * S);
  await journal.flushed();
  assert.equal(slave.checksCompleted, 1);
  assert.deepEqual(
    events.map((e) => [e.kind, e.node?.id]),
    [
      ['master_unreachable', 'master'],
      ['master_reachable', 'master'],
    ],
    'the event that resolves master_unreachable',
  );
});

test('one lost leg costs a retransmission, not the check', () => {
  const { clock, slave, link } = simulated();
  link.lose.add(3); // leg 2 (the first check opens twice: the master hands out its cookie first)
  slave.begin();
  clock.advance(2 * S);
  assert.equal(slave.checksCompleted, 1);
  assert.equal(slave.checksFailed, 0);
  assert.equal(link.toMaster, 8, 'leg 0 without a cookie, legs 0-5 and one retransmission');
});
