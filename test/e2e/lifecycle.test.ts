/**
 * The node lifecycle as an operator sees it, with real processes on loopback: a slave that stops
 * is lost (event, /status, /metrics), comes back (event), is forgotten after --forget-after; lost
 * is judged by the slave's own interval; two hosts under one name are told apart.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Line, type SaturnProcess as Proc, parseLlog } from '../helpers/saturn-process.js';
import { parsePrometheusText, samplesOf } from '../helpers/prom-text.js';
import { startMasterProcess, startSlaveProcess } from '../helpers/nodes.js';

const KEY = 'lifecycle-test-key-0123456789';

/** A master whose own --interval is 200 ms, and slaves checking every 200 ms, on loopback. */
const startMaster = (extra: string[] = []) => startMasterProcess(KEY, ['--interval', '200ms', ...extra]);
const startSlave = (masterAddr: string, name: string, extra: string[] = []) =>
  startSlaveProcess(masterAddr, KEY, name, extra);

const event = (kind: string, name?: string) => (l: Line) => {
  const p = parseLlog(l.text);
  return l.stream === 'stdout' && p?.fields.event === kind && (name === undefined || p.fields.name === name);
};

/** The master's /status with its slaves only (the master lists itself too while the mesh is on). */
async function statusOf(base: string): Promise<any> {
  const doc: any = await (await fetch(`${base}/status`)).json();
  return { ...doc, nodes: doc.nodes.filter((n: any) => n.role === 'slave') };
}

describe('the node lifecycle, end to end', () => {
  const procs: Proc[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  test('a slave that stops is lost everywhere at once; back with an event; forgotten after --forget-after', async () => {
    const { master, udpAddr, base } = await startMaster(['--forget-after', '3s']);
    procs.push(master);
    const slave = startSlave(udpAddr, 'web-1');
    procs.push(slave);
    await master.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset');
    assert.equal((await statusOf(base)).nodes[0].state, 'ok');

    process.kill(-slave.child.pid!, 'SIGSTOP'); // the host hangs: no check, no goodbye
    const lost = parseLlog((await master.waitForLine(event('slave_lost', 'web-1'))).text)!;
    assert.equal(lost.level, 'WARN');
    const doc = await statusOf(base);
    assert.equal(doc.nodes[0].state, 'lost');
    const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    assert.deepEqual(
      samplesOf(families, 'saturn_node_up', { node: 'web-1' }).map((s) => s.value),
      [0],
    );
    assert.deepEqual(samplesOf(families, 'saturn_node_offset_seconds', { node: 'web-1' }), []);

    const from = master.lines.length;
    process.kill(-slave.child.pid!, 'SIGCONT');
    const back = parseLlog((await master.waitForLine(event('slave_back', 'web-1'), 20_000, from)).text)!;
    assert.equal(back.message, 'slave back');
    assert.ok(Number(back.fields.sequence) > Number(lost.fields.sequence));
    for (let i = 0; i < 100 && (await statusOf(base)).nodes[0].state !== 'ok'; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal((await statusOf(base)).nodes[0].state, 'ok');

    await slave.stop();
    await master.waitForLine(event('slave_forgotten', 'web-1'), 30_000, from);
    assert.deepEqual((await statusOf(base)).nodes, []);
    await master.stop();
  });

  test("lost is 3 of the slave's own intervals: a master at 200 ms does not flap a slave at 1 s", async () => {
    const { master, udpAddr, base } = await startMaster();
    procs.push(master);
    const slave = startSlave(udpAddr, 'slow', ['--interval', '1s']);
    procs.push(slave);
    let checks = 0;
    await master.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset' && ++checks >= 4, 30_000);
    assert.equal(master.lines.filter(event('slave_lost')).length, 0, master.output());
    const node = (await statusOf(base)).nodes[0];
    assert.equal(node.intervalSeconds, 1);
    assert.equal(node.state, 'ok');
    await slave.stop();
    await master.stop();
  });

  test('two hosts under one name: a name_conflict event naming both addresses, then two nodes', async () => {
    const { master, udpAddr, base } = await startMaster();
    procs.push(master);
    const a = startSlave(udpAddr, 'web-3');
    const b = startSlave(udpAddr, 'web-3', ['--clock-offset', '300ms']);
    procs.push(a, b);
    const conflict = parseLlog((await master.waitForLine(event('name_conflict'), 30_000)).text)!;
    assert.equal(conflict.level, 'ERROR');
    assert.equal(conflict.fields.name, 'web-3');
    const addrs = [...new Set([...conflict.fields.reason!.matchAll(/127\.0\.0\.1:\d+/g)].map((m) => m[0]))];
    assert.equal(addrs.length, 2, conflict.fields.reason);
    for (let i = 0; i < 200; i++) {
      const ids = (await statusOf(base)).nodes.map((n: any) => n.id).sort();
      if (ids.length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const nodes = (await statusOf(base)).nodes;
    assert.deepEqual(nodes.map((n: any) => n.id).sort(), addrs.map((addr) => `web-3@${addr}`).sort());
    assert.deepEqual(
      nodes.map((n: any) => n.name),
      ['web-3', 'web-3'],
    );
    assert.equal(master.lines.filter(event('name_conflict')).length, 1, 'one event, not one per check');
    await Promise.all([a.stop(), b.stop()]);
    await master.stop();
  });
});
