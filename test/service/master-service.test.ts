import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import { createSocket } from 'node:dgram';
import { type RawOptions, buildConfig } from '../../src/config/build-config.js';
import { CheckInitiator, type CheckOptions } from '../../src/protocol/initiator.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import type { SaturnEvent } from '../../src/events/event.js';
import { EventJournal } from '../../src/events/journal.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { LlogWriter } from '../../src/log/llog.js';
import {
  MasterService,
  NAME_TAKEN_REASON,
  NAME_WITH_AT_REASON,
  UNCONFIRMED_MOVE_REASON,
} from '../../src/service/master-service.js';
import { lineSink, testLogger } from '../helpers/sinks.js';
import { check } from '../helpers/finished-check.js';

test('the lost-slave sweep runs on the injected clock: slave_lost after 3 silent intervals, even across a wall step', async () => {
  const clock = new SimClock();
  const events: SaturnEvent[] = [];
  const journal = new EventJournal({
    reporter: 'master',
    sequence: new MemorySequence(),
    clock,
    logger: testLogger().logger,
  });
  journal.subscribe((e) => events.push(e));
  const config = buildConfig({
    listenAddr: '127.0.0.1:0',
    hmacKey: 'sweep-test-key-0123456789',
    interval: '10s',
    name: 'master',
  });
  const master = await MasterService.start(config, {
    clock,
    logger: testLogger().logger,
    llog: new LlogWriter(lineSink()),
    journal,
  });
  try {
    master.fleet.record({
      nodeId: 'web-1',
      ip: '127.0.0.1',
      port: 4000,
      intervalNs: 0,
      peerResults: [],
      at: clock.read(),
      samples: [],
      outcome: { ok: true, estimate: { offsetNs: 0, errorNs: 1000, rttNs: 2000, kept: 4, total: 5 } },
    });
    clock.step(3600e9); // the master's wall clock jumps an hour: nobody is lost for that
    clock.advance(25e9);
    await journal.flushed();
    assert.deepEqual(
      events.map((e) => e.kind),
      ['clock_step'],
      'the step itself is told (at the next sweep)',
    );
    clock.advance(10e9);
    await journal.flushed();
    assert.deepEqual(
      events.map((e) => [e.kind, e.node?.id]),
      [
        ['clock_step', 'master'],
        ['slave_lost', 'web-1'],
      ],
    );
    assert.match(events[1]!.detail!, /no check for 30 s/);
  } finally {
    await master.close();
  }
});

/** A master on a SimClock (real socket on loopback) with kept events and diagnostics. */
async function simMaster(options: RawOptions = {}) {
  const clock = new SimClock();
  const log = testLogger();
  const journal = new EventJournal({ reporter: 'master', sequence: new MemorySequence(), clock, logger: log.logger });
  const config = buildConfig({ listenAddr: '127.0.0.1:0', hmacKey: KEY, interval: '10s', name: 'master', ...options });
  const master = await MasterService.start(config, {
    clock,
    logger: log.logger,
    llog: new LlogWriter(lineSink()),
    journal,
  });
  return { clock, log, master };
}

const KEY = 'master-service-key-0123456789';

/** A UDP socket that sends to the master and hands back its next reply (or undefined after 1 s). */
async function udpPeer(master: MasterService, host = '127.0.0.1') {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, host, r));
  const replies: Buffer[] = [];
  const waiting: ((b: Buffer | undefined) => void)[] = [];
  socket.on('message', (m) => (waiting.length > 0 ? waiting.shift()!(m) : replies.push(m)));
  const exchange = (datagram: Uint8Array): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(done), 1);
        resolve(undefined);
      }, 1000);
      const done = (b: Buffer | undefined) => {
        clearTimeout(timer);
        resolve(b);
      };
      waiting.push(done);
      socket.send(datagram, master.address.port, master.address.host);
    });
  return { exchange, port: () => socket.address().port, close: () => socket.close() };
}

/** Runs one whole check of `initiator` over `peer`; resolves with its Result, or undefined when it got no answer. */
async function runCheck(
  initiator: CheckInitiator,
  peer: Awaited<ReturnType<typeof udpPeer>>,
  options: CheckOptions = {},
) {
  const clock = new SimClock();
  let datagram: Uint8Array | undefined = initiator.start('master', 0, options).outgoing.build(clock.read());
  for (let legs = 0; datagram && legs < 20; legs++) {
    const reply = await peer.exchange(datagram);
    if (!reply) return undefined;
    const outcome = initiator.handle(reply, clock.read(), 0);
    if (outcome.kind === 'result') return outcome.result;
    datagram = outcome.kind === 'reply' ? outcome.reply.build(clock.read()) : undefined;
  }
  return undefined;
}

test('datagrams under a wrong or unknown key: counted by reason, each source logged at WARN once a minute', async () => {
  const { clock, log, master } = await simMaster();
  const peer = await udpPeer(master);
  // A second source: another loopback address (the limit is per source address, not per port).
  const other = await udpPeer(master, '127.0.0.2');
  try {
    const wrongKey = new CheckInitiator({
      envelope: new Envelope(KeyRing.single(new TextEncoder().encode('a-wrong-key-0123456789'))),
      nodeId: 'intruder',
    });
    const unknownId = new CheckInitiator({
      envelope: new Envelope(new KeyRing([{ id: 9, key: new TextEncoder().encode(KEY) }])),
      nodeId: 'ahead',
    });
    for (let i = 0; i < 5; i++) assert.equal(await runCheck(wrongKey, peer), undefined);
    assert.equal(await runCheck(unknownId, peer), undefined);
    assert.equal(master.drops.get('bad_mac'), 5);
    assert.equal(master.drops.get('unknown_key'), 1);
    const warnings = () => log.records().filter((r) => r.msg.startsWith('datagram failed authentication'));
    assert.equal(warnings().length, 1, 'one line per source a minute');
    assert.equal(warnings()[0]!.level, 40);
    assert.equal(warnings()[0]!.from, `127.0.0.1:${peer.port()}`);
    assert.equal(warnings()[0]!.reason, 'bad_mac');
    // The first source's minute does not silence another source: it gets its own line, once.
    for (let i = 0; i < 3; i++) assert.equal(await runCheck(wrongKey, other), undefined);
    assert.equal(master.drops.get('bad_mac'), 8);
    assert.equal(warnings().length, 2, 'one line for each source');
    assert.equal(warnings()[1]!.from, `127.0.0.2:${other.port()}`);
    assert.equal(warnings()[1]!.reason, 'bad_mac');
    clock.advance(61e9);
    assert.equal(await runCheck(unknownId, peer), undefined);
    assert.equal(warnings().length, 3);
    assert.equal(warnings()[2]!.from, `127.0.0.1:${peer.port()}`);
    assert.equal(warnings()[2]!.reason, 'unknown_key');
    assert.equal(warnings()[2]!.keyId, 9);
    assert.ok(!log.sink.text().includes(KEY), 'the key never appears in a log line');
  } finally {
    peer.close();
    other.close();
    await master.close();
  }
});

test('--max-nodes: a new node beyond it is refused, counted as fleet_full and logged once; known nodes go on', async () => {
  const { log, master } = await simMaster({ maxNodes: '1' });
  const peer = await udpPeer(master);
  try {
    const envelope = new Envelope(KeyRing.single(new TextEncoder().encode(KEY)));
    const first = new CheckInitiator({ envelope, nodeId: 'web-1' });
    const second = new CheckInitiator({ envelope, nodeId: 'web-2' });
    assert.equal((await runCheck(first, peer))?.ok, true);
    for (let i = 0; i < 3; i++) assert.equal(await runCheck(second, peer), undefined);
    assert.equal((await runCheck(first, peer))?.ok, true);
    assert.deepEqual(
      master.fleet.all().map((n) => n.id),
      ['web-1'],
    );
    assert.equal(master.drops.get('fleet_full'), 3);
    const lines = log.records().filter((r) => r.msg.startsWith('fleet full'));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.maxNodes, 1);
    // The key ids seen: every datagram came under key 0.
    assert.ok(master.envelope.keyUse.received.get(0)! >= 12);
  } finally {
    peer.close();
    await master.close();
  }
});

test("a slave under the master's own --name is refused (name_taken, with the reason in its Result): its reports are never the master's", async () => {
  const { log, master } = await simMaster();
  const peer = await udpPeer(master);
  try {
    const envelope = new Envelope(KeyRing.single(new TextEncoder().encode(KEY)));
    const impostor = new CheckInitiator({ envelope, nodeId: 'master' });
    const honest = new CheckInitiator({ envelope, nodeId: 'web-1' });
    assert.equal((await runCheck(honest, peer))?.ok, true);
    for (let i = 0; i < 2; i++) {
      const result = await runCheck(impostor, peer);
      assert.equal(result?.ok, false);
      assert.equal(result?.reason, NAME_TAKEN_REASON);
    }
    assert.deepEqual(
      master.fleet.all().map((n) => n.id),
      ['web-1'],
    );
    assert.equal(master.drops.get('name_taken'), 2);
    assert.equal(log.records().filter((r) => r.msg.startsWith('a slave checks in under a name')).length, 1);
    // name@address is how the master keeps two hosts of one name apart: no slave may claim one.
    const claimsSplitId = new CheckInitiator({ envelope, nodeId: 'web-1@127.0.0.1:4000' });
    assert.equal((await runCheck(claimsSplitId, peer))?.reason, NAME_WITH_AT_REASON);
    assert.equal(master.drops.get('name_taken'), 3);
  } finally {
    peer.close();
    await master.close();
  }
});

test('peer results beyond the 16 a report may carry are each counted as peer_absurd, not lost uncounted', async () => {
  const { master } = await simMaster({ peers: '3' });
  const reporter = await udpPeer(master);
  const measured = await udpPeer(master);
  try {
    const envelope = new Envelope(KeyRing.single(new TextEncoder().encode(KEY)));
    assert.equal((await runCheck(new CheckInitiator({ envelope, nodeId: 'web-2' }), measured))?.ok, true);
    const result = { peerId: 'web-2', offsetNs: 1e5, errorNs: 1e5, rttNs: 2e5, ageNs: 0 };
    const flood = Array.from({ length: 20 }, () => result); // all fit in one datagram (1 KiB)
    const check = await runCheck(new CheckInitiator({ envelope, nodeId: 'web-1' }), reporter, { peerResults: flood });
    assert.equal(check?.ok, true);
    assert.equal(master.mesh.edges.size, 1, 'the 16 taken are one edge (web-1 → web-2)');
    assert.equal(master.drops.get('peer_absurd'), 4, 'the 4 beyond the 16 are counted');
  } finally {
    reporter.close();
    measured.close();
    await master.close();
  }
});

test('a name heard from a second live address is held, with the reason whole in its Result; the owner checking again splits the two', async () => {
  const { master } = await simMaster();
  const owner = await udpPeer(master);
  const other = await udpPeer(master);
  try {
    const envelope = new Envelope(KeyRing.single(new TextEncoder().encode(KEY)));
    assert.equal((await runCheck(new CheckInitiator({ envelope, nodeId: 'web-1' }), owner))?.ok, true);
    const held = await runCheck(new CheckInitiator({ envelope, nodeId: 'web-1' }), other);
    assert.equal(held?.ok, false);
    assert.equal(held?.reason, UNCONFIRMED_MOVE_REASON);
    assert.equal((await runCheck(new CheckInitiator({ envelope, nodeId: 'web-1' }), owner))?.ok, true);
    assert.deepEqual(
      master.fleet.all().map((n) => n.id),
      [`web-1@127.0.0.1:${owner.port()}`],
    );
  } finally {
    owner.close();
    other.close();
    await master.close();
  }
});

test('the mesh votes on every sweep of a small fleet, and every 5th sweep (twice an interval) of 10,000 nodes', async () => {
  const { clock, master } = await simMaster({ peers: '3' });
  try {
    /** Sweeps (one a second at a 10 s interval) over the next `seconds`, and how many of them voted. */
    const votesIn = (seconds: number) => {
      let votes = 0;
      for (let s = 0; s < seconds; s++) {
        const before = master.mesh.consensus;
        clock.advance(1_000_000_000n);
        if (master.mesh.consensus !== before) votes++;
      }
      return votes;
    };
    const fill = (n: number) => {
      const mono = clock.monotonic();
      for (let i = master.fleet.size; i < n; i++)
        master.fleet.record({ ...check(`node-${i}`, 0, { intervalNs: 10e9 }), at: { mono, wall: clock.now() } });
    };
    fill(3);
    assert.equal(votesIn(10), 10, 'a vote each sweep');
    fill(10_000);
    assert.equal(votesIn(10), 2, 'a vote every 5 s');
    assert.equal(master.mesh.consensus?.of, 10_001, 'the votes took the whole fleet and the master');
  } finally {
    await master.close();
  }
});
