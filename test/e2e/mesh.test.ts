/**
 * The mesh end to end, real processes on loopback: the clock that is wrong is named, whichever
 * node it is, the master included; a split names nobody; a lying peer report does not get an
 * honest node named.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, test } from 'node:test';
import { SystemClock } from '../../src/clock/system-clock.js';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import { type Line, type SaturnProcess as Proc, SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { hasCommand } from '../helpers/system.js';
import { until } from '../helpers/wait.js';

const KEY = 'e2e-mesh-key-0123456789abcdef';
const INTERVAL = '500ms';

type Llog = NonNullable<ReturnType<typeof parseLlog>>;

/**
 * A master with /status; `shift` moves its wall clock (faketime where installed, as a real wrong
 * clock); `listen` and `interval` default to an ephemeral port and INTERVAL.
 */
async function startMaster(shift?: string, listen = '127.0.0.1:0', interval = INTERVAL) {
  const faked = shift !== undefined && hasCommand('faketime');
  const master = SaturnProcess.start(
    [
      ...['--listen-addr', listen, '--metrics-addr', '127.0.0.1:0', '--hmac-key', KEY, '--name', 'master-1'],
      ...['--interval', interval, '--threshold', '100ms', '--log-format', 'json', '--peers', '3'],
      ...(shift !== undefined && !faked ? ['--clock-offset', shift] : []),
    ],
    faked ? { prefix: ['faketime', '-f', `+${Number.parseFloat(shift!) / 1000}s`], env: FAKE_WALL_ONLY } : {},
  );
  const udp = (await master.waitForLog('master listening')).addr as string;
  const http = (await master.waitForLog('http listening')).url as string;
  return { master, udp, statusUrl: http };
}

/** faketime shifts only the wall clock, as on a real machine whose clock is wrong. */
const FAKE_WALL_ONLY = { FAKETIME_DONT_FAKE_MONOTONIC: '1' };

function startSlave(udp: string, name: string, clockOffset = '0ms') {
  return SaturnProcess.start([
    ...['--master-addr', udp, '--listen-addr', '127.0.0.1:0', '--hmac-key', KEY, '--name', name],
    ...['--interval', INTERVAL, '--clock-offset', clockOffset, '--log-format', 'json', '--peers', '3'],
  ]);
}

const llog = (p: Proc): { line: Line; index: number; l: Llog }[] =>
  p.lines.flatMap((line, index) => {
    const l = line.stream === 'stdout' ? parseLlog(line.text) : undefined;
    return l ? [{ line, index, l }] : [];
  });
const events = (p: Proc, kind: string) => llog(p).filter((x) => x.l.fields.event === kind);
const checksOf = (p: Proc, name: string) =>
  llog(p).filter((x) => x.l.message === 'slave offset' && x.l.fields.name === name);

/** A loopback UDP address nothing listens on (bound, read, released), for a master started later. */
async function freeUdpAddress(): Promise<string> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return `127.0.0.1:${port}`;
}

async function status(url: string): Promise<any> {
  return (await fetch(url)).json();
}

describe('the mesh, end to end', () => {
  const procs: Proc[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  test('5 nodes, the master 500 ms fast: one falseticker event names the master within 3 intervals; no slave is blamed', async () => {
    // The slaves run first and the master starts among them, as a master restarted in a running
    // fleet: every slave checks in within one interval of it. (Started after the master, slaves on
    // a loaded machine came up seconds apart, more than the 500 ms interval: the first one was then
    // judged against the master's clock before there were 3 clocks to vote, and blamed.)
    const udp = await freeUdpAddress();
    const names = ['web-1', 'web-2', 'web-3', 'web-4'];
    const slaves = names.map((name) => startSlave(udp, name));
    procs.push(...slaves);
    for (const slave of slaves) await slave.waitForLog('started');
    const { master, statusUrl } = await startMaster('500ms', udp);
    procs.push(master);
    const named = await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'falseticker', 60_000);
    const event = parseLlog(named.text)!;
    assert.equal(event.level, 'ERROR');
    assert.equal(event.message, 'clock disagrees with the majority');
    assert.equal(event.fields.name, 'master-1');
    assert.ok(
      Math.abs(Number(event.fields.offset) - 500) < 5,
      `offset from the agreed time: ${event.fields.offset} ms`,
    );
    assert.ok(Number(event.fields.agree) >= 2 && Number(event.fields.agree) === Number(event.fields.of) - 1);
    // Within 3 intervals of the vote being possible (a second slave checked in: 3 clocks).
    const at = master.lines.indexOf(named);
    const second = names.map((n) => checksOf(master, n)[0]?.index ?? Infinity).sort((a, b) => a - b)[1]!;
    const secondName = names.find((n) => checksOf(master, n)[0]?.index === second)!;
    const checksBefore = checksOf(master, secondName).filter((x) => x.index < at).length;
    assert.ok(checksBefore <= 3, `named after ${checksBefore} checks of the second slave`);

    // Every slave checks several more times: still no drift event, the master named once.
    await until('4 more checks of every slave', () => names.every((n) => checksOf(master, n).length >= 6), 60_000);
    assert.deepEqual(
      events(master, 'drift').map((x) => x.l.fields.name),
      [],
      'no slave is blamed',
    );
    assert.equal(events(master, 'falseticker').length, 1);
    const doc = await status(statusUrl);
    assert.deepEqual(doc.mesh.falsetickers, ['master-1']);
    assert.equal(doc.mesh.majority, true);
    assert.ok(Math.abs(doc.mesh.agreedOffsetSeconds + 0.5) < 0.005, `agreed time ${doc.mesh.agreedOffsetSeconds}`);
    const masterRow = doc.nodes.find((n: any) => n.role === 'master');
    assert.equal(masterRow.id, 'master-1');
    assert.equal(masterRow.state, 'falseticker');
    for (const n of doc.nodes.filter((x: any) => x.role === 'slave')) {
      assert.equal(n.state, 'ok', n.id);
      assert.equal(n.reference, 'agreed', `${n.id}'s threshold judged against the agreed time`);
      assert.ok(Math.abs(n.offsetSeconds + 0.5) < 0.005, `${n.id} is 500 ms behind the master`);
      assert.ok(Math.abs(n.consensusOffsetSeconds) < 0.005, `${n.id} agrees with the majority`);
    }
  });

  test('one slave 500 ms off: that slave is named, the master is not', async () => {
    const { master, udp } = await startMaster();
    procs.push(master);
    for (const name of ['web-1', 'web-2', 'web-3']) procs.push(startSlave(udp, name));
    procs.push(startSlave(udp, 'skewed', '500ms'));
    const named = parseLlog(
      (await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'falseticker', 60_000)).text,
    )!;
    assert.equal(named.fields.name, 'skewed');
    assert.ok(Math.abs(Number(named.fields.offset) - 500) < 5);
    await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'drift', 60_000);
    await until('3 more checks of each slave', () => checksOf(master, 'web-1').length >= 6, 60_000);
    assert.deepEqual(
      events(master, 'falseticker').map((x) => x.l.fields.name),
      ['skewed'],
    );
    assert.deepEqual(
      events(master, 'drift').map((x) => x.l.fields.name),
      ['skewed'],
    );
  });

  test('4 nodes split 2/2: no_majority, nobody named', async () => {
    // The whole fleet checks in within one slave interval: the slaves run (checking every 500 ms,
    // unanswered) before the master starts, and the master (2 s interval) names nobody in its
    // first interval. A slave starting late would make a partial vote, which this is not about.
    const udp = await freeUdpAddress();
    const slaves = [
      startSlave(udp, 'with-master'),
      startSlave(udp, 'ahead-1', '500ms'),
      startSlave(udp, 'ahead-2', '500ms'),
    ];
    procs.push(...slaves);
    for (const slave of slaves) await slave.waitForLog('slave listening');
    const { master, statusUrl } = await startMaster(undefined, udp, '2s');
    procs.push(master);
    const split = parseLlog(
      (await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'no_majority', 60_000)).text,
    )!;
    assert.equal(split.level, 'ERROR');
    assert.deepEqual([split.fields.agree, split.fields.of], ['2', '4']);
    await until('3 more checks', () => checksOf(master, 'ahead-2').length >= 5, 60_000);
    assert.deepEqual(events(master, 'falseticker'), []);
    assert.equal(events(master, 'no_majority').length, 1, 'raised once');
    const doc = await status(statusUrl);
    assert.equal(doc.mesh.majority, false);
    const ahead = doc.nodes.find((n: any) => n.id === 'ahead-1');
    assert.equal(ahead.reference, 'master', 'without a majority drift is judged against the master');
    assert.equal(ahead.state, 'over_threshold');
  });

  test('a lying peer report (valid key, false offset) does not get an honest node named', async () => {
    const { master, udp, statusUrl } = await startMaster();
    procs.push(master);
    for (const name of ['web-1', 'web-2', 'web-3']) procs.push(startSlave(udp, name));
    await until('every slave checked', async () => {
      const doc = await status(statusUrl);
      return ['web-1', 'web-2', 'web-3'].every((n) => doc.nodes.some((x: any) => x.id === n && x.checks > 0));
    });
    // The liar holds the key and checks with the master like a slave, reporting web-1 400 ms behind it.
    const liar = new Liar(udp);
    try {
      await until(
        "the lie in the master's view of web-1",
        async () => {
          await liar.check();
          const web1 = (await status(statusUrl)).nodes.find((n: any) => n.id === 'web-1');
          return web1.disagreeingPaths.includes('liar');
        },
        60_000,
      );
      for (let i = 0; i < 4; i++) await liar.check(); // more lies, more votes
      const doc = await status(statusUrl);
      assert.deepEqual(doc.mesh.falsetickers, [], 'the lie names nobody');
      assert.equal(doc.mesh.majority, true);
      assert.deepEqual(events(master, 'falseticker'), []);
    } finally {
      liar.close();
    }
  });
});

/** A client with the fleet's key that runs checks with the master and reports a false peer result each time. */
class Liar {
  private readonly socket = createSocket('udp4');
  private readonly clock = new SystemClock();
  private readonly initiator = new CheckInitiator({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode(KEY))),
    nodeId: 'liar',
    intervalNs: 500e6,
  });
  private readonly to: { host: string; port: number };

  constructor(udp: string) {
    const colon = udp.lastIndexOf(':');
    this.to = { host: udp.slice(0, colon), port: Number(udp.slice(colon + 1)) };
  }

  /** One whole check (a cookie round first if needed); resolves on its Result. */
  check(): Promise<void> {
    const lie = [{ peerId: 'web-1', offsetNs: 400e6, errorNs: 0.1e6, rttNs: 0.2e6, ageNs: 0 }];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the master did not finish the check')), 10_000);
      const onMessage = (bytes: Buffer) => {
        const outcome = this.initiator.handle(bytes, this.clock.read(), 0);
        if (outcome.kind === 'reply') this.send(outcome.reply.build(this.clock.read()));
        if (outcome.kind === 'result') {
          clearTimeout(timer);
          this.socket.off('message', onMessage);
          resolve();
        }
      };
      this.socket.on('message', onMessage);
      const { outgoing } = this.initiator.start('master', 0, { peerResults: lie });
      this.send(outgoing.build(this.clock.read()));
    });
  }

  private send(bytes: Uint8Array): void {
    this.socket.send(bytes, this.to.port, this.to.host);
  }

  close(): void {
    this.socket.close();
  }
}
