/**
 * A slave with two masters found through DNS (an HA pair behind _saturn._udp.NAME, a local DNS
 * stub), in process on loopback: each master checks it on its own; one master going away is
 * reported for that master alone, and the other goes on.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SystemClock } from '../../src/clock/system-clock.js';
import { buildConfig } from '../../src/config/build-config.js';
import type { SaturnEvent } from '../../src/events/event.js';
import { systemDns } from '../../src/service/masters.js';
import { type RunningNode, startNode } from '../../src/service/run-node.js';
import { DnsStub } from '../helpers/dns-stub.js';
import { lineSink, testLogger } from '../helpers/sinks.js';
import { until } from '../helpers/wait.js';

const KEY = 'multi-master-key-0123456789abcdef';
const running: RunningNode[] = [];
let dns: DnsStub | undefined;
after(async () => {
  for (const node of running.reverse()) await node.close();
  await dns?.close();
});

async function node(options: Parameters<typeof buildConfig>[0], withDns?: DnsStub): Promise<RunningNode> {
  const config = buildConfig({ listenAddr: '127.0.0.1:0', hmacKey: KEY, interval: '200ms', ...options });
  const started = await startNode(config, {
    clock: new SystemClock(),
    logger: testLogger().logger,
    stdout: lineSink(),
    dns: withDns && systemDns([withDns.server]),
  });
  running.push(started);
  return started;
}

test('an HA pair from an SRV record: both masters check the slave; one going away is reported for it alone', async () => {
  const [a, b] = [await node({ name: 'master-a' }), await node({ name: 'master-b' })];
  const [aPort, bPort] = [a.master!.address.port, b.master!.address.port];
  dns = await DnsStub.start({
    srv: {
      '_saturn._udp.clock.test': [
        { target: 'a.clock.test', port: aPort },
        { target: 'b.clock.test', port: bPort },
      ],
    },
    a: { 'a.clock.test': ['127.0.0.1'], 'b.clock.test': ['127.0.0.1'] },
  });
  const slave = await node({ name: 'web-1', masterAddr: 'clock.test' }, dns);
  const events: SaturnEvent[] = [];
  slave.events!.journal.subscribe((e) => events.push(e));

  const checks = (m: RunningNode) => m.master!.fleet.get('web-1')?.checks ?? 0;
  await until('both masters to check web-1 twice', () => checks(a) >= 2 && checks(b) >= 2);
  const links = slave.slave!.masterStates;
  assert.deepEqual(links.map((l) => l.key).sort(), [`a.clock.test:${aPort}`, `b.clock.test:${bPort}`]);
  assert.ok(links.every((l) => l.reachable && l.lastResult?.ok));
  assert.deepEqual(
    links.map((l) => l.lastResult!.responderId).sort(),
    ['master-a', 'master-b'],
    'each Result says which master answered',
  );

  // master-a goes away: the slave says so for master-a only; master-b goes on checking it.
  await a.close();
  running.splice(running.indexOf(a), 1);
  await until('master_unreachable', () => events.some((e) => e.kind === 'master_unreachable'));
  const unreachable = events.filter((e) => e.kind === 'master_unreachable');
  assert.deepEqual(
    unreachable.map((e) => e.node?.addr),
    [`a.clock.test:${aPort}`],
  );
  const before = checks(b);
  await until('master-b to go on', () => checks(b) >= before + 3);
  assert.equal(slave.slave!.masterReachable, true, 'one master answering is enough');
});
