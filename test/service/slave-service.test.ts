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
  const newMaster = () =>
    new CheckResponder({
      envelope: new Envelope(KeyRing.single(new TextEncoder().encode(KEY))),
      rounds: 5,
    });
  /**
   * `up: false` loses everything; `lose` holds the indexes (0-based, in send order) of datagrams to
   * lose; `restartAt` the index of the datagram before which the master restarts (its sessions and cookies gone).
   */
  const link = { up: true, toMaster: 0, lose: new Set<number>(), restartAt: -1 };
  let master = newMaster();
  const config = buildConfig({ masterAddr: '127.0.0.1:4123', hmacKey: KEY, name: 'web-1', interval: '10s' });
  let slave: SlaveService;
  const transport = {
    send(_to: unknown, reply: Reply) {
      const bytes = typeof reply === 'function' ? reply(clock.read()) : reply;
      const index = link.toMaster++;
      if (index === link.restartAt) master = newMaster();
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

/**
 * Runs a started slave for `silentS` seconds: `sent` datagrams to the master and no event yet;
 * one second more: master_unreachable, alone.
 */
async function unreachableAfter(sim: ReturnType<typeof simulated>, silentS: number, sent: number, why: string) {
  const { clock, link, events, journal } = sim;
  clock.advance(silentS * S);
  await journal.flushed();
  assert.equal(link.toMaster, sent, why);
  assert.equal(events.length, 0);
  clock.advance(1 * S);
  await journal.flushed();
  assert.deepEqual(
    events.map((e) => e.kind),
    ['master_unreachable'],
  );
}

test('a silent master: each leg is sent 4 times 1 s apart, then master_unreachable, once; back: master_reachable', async () => {
  const sim = simulated();
  const { clock, slave, link, events, journal } = sim;
  link.up = false;
  slave.begin();
  await unreachableAfter(sim, 3.5, 4, 'leg 0 and 3 retransmissions');
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
      ['master_unreachable', '127.0.0.1:4123'],
      ['master_reachable', '127.0.0.1:4123'],
    ],
    'the event that resolves master_unreachable',
  );
});

test('the master restarting mid-check costs that check a fresh start, not a master_unreachable', async () => {
  const { clock, slave, link, events, journal } = simulated();
  link.restartAt = 3; // before leg 2 (the first check opens twice: the master hands out its cookie first)
  slave.begin();
  clock.advance(9 * S);
  await journal.flushed();
  assert.deepEqual(events, []);
  assert.equal(slave.checksCompleted, 1, 'the check, started anew, completed within its interval');
});

test('a master gone mid-check: the check opens anew once, then master_unreachable', async () => {
  const sim = simulated();
  for (let i = 3; i < 100; i++) sim.link.lose.add(i); // from leg 2 on
  sim.slave.begin();
  await unreachableAfter(sim, 7.5, 11, 'leg 0 (cookie), legs 0-1, leg 2 4 times, leg 0 anew 4 times');
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

/**
 * A slave (web-1, --peers 3) with three peers: web-3 and web-4 honest, and at 127.0.0.1:5002
 * (web-2 to the master) a key holder that answers each check 500 ms off under another invented
 * name. The master hands out the three, or (`pinned`) web-1 pins them with --peer. Every node
 * shares the simulated clock; each link takes ONE_WAY_NS each way.
 */
function meshWithLiar(pinned: boolean) {
  const clock = new SimClock();
  const stdout = lineSink();
  const journal = new EventJournal({
    reporter: 'web-1',
    sequence: new MemorySequence(),
    clock,
    logger: testLogger().logger,
  });
  const envelope = new Envelope(KeyRing.single(new TextEncoder().encode(KEY)));
  const peers = [
    { id: 'web-2', addr: '127.0.0.1:5002' },
    { id: 'web-3', addr: '127.0.0.1:5003' },
    { id: 'web-4', addr: '127.0.0.1:5004' },
  ];
  const master = new CheckResponder({ envelope, nodeId: 'master', rounds: 5 });
  const honest = new Map([
    [5003, new CheckResponder({ envelope, nodeId: 'web-3', rounds: 5 })],
    [5004, new CheckResponder({ envelope, nodeId: 'web-4', rounds: 5 })],
  ]);
  /** The liar: a fresh identity for each check it answers. */
  let liar = new CheckResponder({ envelope, nodeId: 'ghost-0', rounds: 5 });
  let lies = 0;
  const answer = (port: number, bytes: Uint8Array): Uint8Array | undefined => {
    const responder = port === 4123 ? master : port === 5002 ? liar : honest.get(port)!;
    const outcome = responder.handle(bytes, '127.0.0.1', 40000, clock.read(), 0);
    if (outcome.kind === 'reply') return outcome.reply.build(clock.read());
    if (outcome.kind !== 'finished') return undefined;
    const estimate = outcome.finished.outcome.ok ? outcome.finished.outcome.estimate : undefined;
    if (port === 4123)
      return outcome.conclude({ offsetNs: 0, errorNs: 1000, rttNs: 2000, samples: 4 }, peers).build(clock.read());
    if (port !== 5002) return outcome.conclude(estimate && { ...estimate, samples: estimate.kept }).build(clock.read());
    const lie = outcome.conclude({ offsetNs: 500e6, errorNs: 1000, rttNs: 2000, samples: 4 }).build(clock.read());
    liar = new CheckResponder({ envelope, nodeId: `ghost-${++lies}`, rounds: 5 });
    return lie;
  };
  const config = buildConfig({
    ...{ masterAddr: '127.0.0.1:4123', hmacKey: KEY, name: 'web-1', interval: '10s', peers: '3' },
    peer: pinned ? peers.map((p) => p.addr) : undefined,
  });
  let slave: SlaveService;
  const transport = {
    send(to: { address: string; port: number }, reply: Reply) {
      const bytes = typeof reply === 'function' ? reply(clock.read()) : reply;
      clock.setTimer(ONE_WAY_NS, () => {
        const back = answer(to.port, bytes);
        if (back) clock.setTimer(ONE_WAY_NS, () => slave.onDatagram(back, clock.read(), to));
      });
    },
  };
  slave = new SlaveService(
    config,
    { clock, logger: testLogger().logger, llog: new LlogWriter(stdout), journal, random: () => 0.5 },
    transport,
  );
  const lines = () => stdout.lines.map((l) => parseLlog(l)!);
  return { clock, slave, lines };
}

test('a peer answering under another name than the master gave its address is not measured, and counted (peer_unknown)', () => {
  const { clock, slave, lines } = meshWithLiar(false);
  slave.begin();
  clock.advance(60 * S); // six intervals: the peers are checked in five of them
  assert.deepEqual(
    lines().filter((l) => l.message.includes('peers')),
    [],
    'web-1 agrees with both peers it measured: no WARN',
  );
  const fresh = slave.peerMeasurements(clock.monotonic());
  assert.deepEqual(fresh.map((m) => m.peerId).sort(), ['web-3', 'web-4']);
  assert.equal(slave.drops.get('peer_unknown'), 5, "each of the liar's 5 answers");
});

test('a pinned peer answering under a new name each check counts once: one liar among 3 peers does not make an honest slave say it disagrees', () => {
  const { clock, slave, lines } = meshWithLiar(true);
  slave.begin();
  clock.advance(60 * S);
  assert.deepEqual(
    lines().filter((l) => l.message.includes('peers')),
    [],
    'web-1 agrees with 2 of its 3 peers: no WARN',
  );
  const fresh = slave.peerMeasurements(clock.monotonic());
  assert.deepEqual(fresh.map((m) => m.addr).sort(), ['127.0.0.1:5002', '127.0.0.1:5003', '127.0.0.1:5004']);
});
