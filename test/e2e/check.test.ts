import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type SaturnProcess as Proc, SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { hasCommand } from '../helpers/system.js';
import { startMasterProcess, startSlaveProcess } from '../helpers/nodes.js';

const KEY = 'e2e-test-key-0123456789';

/** A master with /status (threshold 100 ms) and a slave checking every 200 ms, on loopback. */
const startMaster = (extra: string[] = [], port = 0) =>
  startMasterProcess(KEY, ['--threshold', '100ms', ...extra], port);
const startSlave = (masterAddr: string, name: string, extra: string[] = [], options = {}) =>
  startSlaveProcess(masterAddr, KEY, name, extra, options);

async function status(url: string): Promise<any> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.json();
}

/** Waits for the master's n-th WARN line about `name` and returns its fields. */
async function warnFor(master: Proc, name: string) {
  const line = await master.waitForLine((l) => {
    const p = parseLlog(l.text);
    return l.stream === 'stdout' && p?.level === 'WARN' && p.fields.name === name;
  });
  return parseLlog(line.text)!;
}

/** Waits until /status shows `name` with at least `checks` checks. */
async function nodeAfter(master: Proc, url: string, name: string, checks: number) {
  await master.waitForLine((l) => {
    const p = parseLlog(l.text);
    return p?.message === 'slave offset' && p.fields.name === name;
  });
  for (let i = 0; i < 200; i++) {
    const node = (await status(url)).nodes.find((n: any) => n.id === name);
    if (node && node.checks >= checks) return node;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${name} never reached ${checks} checks`);
}

describe('end to end: real processes on loopback', () => {
  const procs: Proc[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  // Hours and days off too: nothing in the protocol (cookies, replay memory) relies on the slave's clock.
  for (const [shift, expectedMs] of [
    ['750ms', 750],
    ['-2s', -2000],
    ['3h', 3 * 3600 * 1000],
    ['-48h', -2 * 86_400 * 1000],
  ] as const) {
    test(`a slave shifted by ${shift} (--clock-offset) is reported with the right sign`, async () => {
      const { master, udpAddr, statusUrl } = await startMaster();
      procs.push(master);
      const slave = startSlave(udpAddr, `shifted${expectedMs}`, ['--clock-offset', shift]);
      procs.push(slave);

      const warn = await warnFor(master, `shifted${expectedMs}`);
      assert.equal(warn.message, 'slave offset is over threshold');
      assert.ok(
        Math.abs(Number(warn.fields.offset) - expectedMs) < 5,
        `WARN offset ${warn.fields.offset} not within 5 ms of ${expectedMs}`,
      );
      assert.equal(warn.fields.ip, '127.0.0.1');
      assert.equal(warn.fields.threshold, '100');

      const node = await nodeAfter(master, statusUrl, `shifted${expectedMs}`, 2);
      assert.ok(Math.abs(node.offsetSeconds - expectedMs / 1000) < 0.005, `/status offset ${node.offsetSeconds}`);
      assert.ok(node.errorSeconds >= 0 && node.errorSeconds < 0.005, `/status error ${node.errorSeconds}`);

      // The slave logs the offset the master found for it.
      const own = await slave.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset');
      assert.ok(Math.abs(Number(parseLlog(own.text)!.fields.offset) - expectedMs) < 5);
      await slave.stop();
      await master.stop();
    });
  }

  test('a slave shifted by faketime is reported like one shifted by --clock-offset', async (t) => {
    if (!hasCommand('faketime')) {
      t.skip('faketime is not installed (apt-get install faketime; .ci/run installs it)');
      return;
    }
    const { master, udpAddr, statusUrl } = await startMaster();
    procs.push(master);
    // Only the wall clock is shifted, as on a real machine whose clock is wrong.
    const slave = startSlave(udpAddr, 'faked', [], {
      prefix: ['faketime', '-f', '+0.75s'],
      env: { FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    procs.push(slave);
    const warn = await warnFor(master, 'faked');
    assert.ok(Math.abs(Number(warn.fields.offset) - 750) < 5, `WARN offset ${warn.fields.offset}`);
    const node = await nodeAfter(master, statusUrl, 'faked', 2);
    assert.ok(Math.abs(node.offsetSeconds - 0.75) < 0.005, `/status offset ${node.offsetSeconds}`);
    await slave.stop();
    await master.stop();
  });

  test('a slave with the wrong key never gets an answer, and the master counts the drops', async () => {
    const { master, udpAddr, statusUrl } = await startMaster();
    procs.push(master);
    const slave = SaturnProcess.start([
      '--master-addr',
      udpAddr,
      '--listen-addr',
      '127.0.0.1:0',
      '--hmac-key',
      'a-different-key-0123456',
      '--name',
      'intruder',
      '--interval',
      '200ms',
      '--log-format',
      'json',
    ]);
    procs.push(slave);
    // The slave gives up on its check: nothing it could authenticate came back.
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'master unreachable');
    const doc = await status(statusUrl);
    assert.ok(doc.drops.bad_mac >= 1, `drops: ${JSON.stringify(doc.drops)}`);
    assert.deepEqual(
      doc.nodes.map((n: any) => n.role),
      ['master'],
      'no slave: only the master lists itself',
    );
    assert.ok(!slave.lines.some((l) => parseLlog(l.text)?.message === 'slave offset'));
    await slave.stop();
    await master.stop();
  });

  test('killing and restarting the master does not wedge the slave', async () => {
    const first = await startMaster();
    procs.push(first.master);
    const slave = startSlave(first.udpAddr, 'survivor');
    procs.push(slave);
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset');
    await first.master.stop('SIGKILL');
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'master unreachable');

    const port = Number(first.udpAddr.split(':').pop());
    const second = await startMaster([], port);
    procs.push(second.master);
    const from = slave.lines.length;
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'master reachable again', 20_000, from);
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset', 20_000, from);
    await nodeAfter(second.master, second.statusUrl, 'survivor', 1);
    await slave.stop();
    await second.master.stop();
  });
});
