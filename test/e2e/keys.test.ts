/**
 * Keys on real processes: a key rolled across a master and three slaves by SIGHUP while checks
 * run, key files other users can read refused, and the key never shown anywhere.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parsePrometheusText, samplesOf } from '../helpers/prom-text.js';
import { type Line, SaturnProcess, parseLlog } from '../helpers/saturn-process.js';

const K1 = 'the-first-key-of-the-fleet-0123456789';
const K2 = 'the-second-key-of-the-fleet-9876543210';

/**
 * The roll runs at a 1 s interval: a slave retransmits a leg unanswered for a fifth of it, 4 tries
 * in all, so a check survives a stall of 800 ms on a loaded machine (at 200 ms, 160 ms was not
 * always enough under the whole suite). What the roll itself could break, the master counts as
 * bad_mac or unknown_key.
 */
const ROLL_INTERVAL = '1s';

const json = (line: Line) => {
  try {
    return line.text.startsWith('{') ? (JSON.parse(line.text) as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
};

/** Writes a key file readable by its owner only. */
function writeKeys(file: string, lines: string[]): void {
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

describe('keys on real processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-keys-'));
  const procs: SaturnProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  function start(args: string[], env: NodeJS.ProcessEnv = {}) {
    const proc = SaturnProcess.start([...args, '--log-format', 'json'], { env });
    procs.push(proc);
    return proc;
  }

  /** Sends SIGHUP and waits for the node to say it reloaded its keys; returns the ids it holds. */
  async function reload(proc: SaturnProcess): Promise<number[]> {
    const from = proc.lines.length;
    process.kill(proc.child.pid!, 'SIGHUP');
    const line = await proc.waitForLine((l) => json(l)?.msg === 'HMAC keys reloaded', 20_000, from);
    return json(line)!.keyIds as number[];
  }

  test('a key rolled across a master and three slaves, step by step, while checks run: no check fails', async (t) => {
    const masterKeys = join(dir, 'master.keys');
    writeKeys(masterKeys, [`1 ${K1}`]);
    const master = start([
      '--listen-addr',
      '127.0.0.1:0',
      '--metrics-addr',
      '127.0.0.1:0',
      '--hmac-key-file',
      masterKeys,
      '--interval',
      ROLL_INTERVAL,
      '--name',
      'master',
    ]);
    const udp = (await master.waitForLog('master listening')).addr as string;
    const http = (await master.waitForLog('http listening')).addr as string;
    await master.waitForLog('started');
    const names = ['web-1', 'web-2', 'web-3'];
    const slaveKeys = names.map((n) => join(dir, `${n}.keys`));
    for (const file of slaveKeys) writeKeys(file, [`1 ${K1}`]);
    const slaves = names.map((name, i) =>
      start([
        '--master-addr',
        udp,
        '--listen-addr',
        '127.0.0.1:0',
        '--hmac-key-file',
        slaveKeys[i]!,
        '--name',
        name,
        '--interval',
        ROLL_INTERVAL,
      ]),
    );
    const status = async () => (await (await fetch(`http://${http}/status`)).json()) as any;
    const checks = async () =>
      Object.fromEntries(((await status()).nodes as any[]).map((n) => [n.id, n.checks as number]));
    /** Waits until every slave has `more` good checks beyond what it has now. */
    const moreChecks = async (more: number) => {
      const from = await checks();
      for (let i = 0; i < 400; i++) {
        const now = await checks();
        if (names.every((n) => (now[n] ?? 0) >= (from[n] ?? 0) + more)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`slaves did not reach ${more} more checks; master:\n${master.output()}`);
    };
    const byKey = async (id: number) => {
      const families = parsePrometheusText(await (await fetch(`http://${http}/metrics`)).text());
      return (
        samplesOf(families, 'saturn_datagrams_by_key_total', { key_id: String(id), direction: 'received' })[0]?.value ??
        0
      );
    };
    const everyone = [master, ...slaves];
    const files = [masterKeys, ...slaveKeys];

    for (const slave of slaves) await slave.waitForLog('started');
    await moreChecks(2);
    assert.equal(await byKey(2), 0);

    // 1. The new key is added everywhere; the old one stays current.
    for (const file of files) writeKeys(file, [`1 ${K1}`, `2 ${K2}`]);
    for (const node of everyone) assert.deepEqual(await reload(node), [1, 2]);
    await moreChecks(2);
    assert.equal(await byKey(2), 0, 'nobody seals with the new key yet');

    // 2. The new key is made current, one node at a time, checks running in between.
    for (const file of files) writeKeys(file, [`2 ${K2}`, `1 ${K1}`]);
    for (const node of [slaves[0]!, master, slaves[1]!, slaves[2]!]) {
      assert.deepEqual(await reload(node), [2, 1]);
      await moreChecks(1);
    }
    await moreChecks(1);
    const oldKeyUse = await byKey(1);
    const newKeyUse = await byKey(2);
    await moreChecks(3);
    assert.equal(await byKey(1), oldKeyUse, 'once every node seals with the new key, the old key is no longer used');
    assert.ok((await byKey(2)) > newKeyUse);

    // 3. The old key is removed everywhere.
    for (const file of files) writeKeys(file, [`2 ${K2}`]);
    for (const node of everyone) assert.deepEqual(await reload(node), [2]);
    await moreChecks(2);

    // Not one check failed at any step: the master refused nothing and no slave gave up. A check
    // the master discards was timed wrong (a leg held over 50 ms, a clock step: a loaded machine
    // can do that), never refused for its key; any such discard must say so.
    const doc = await status();
    assert.equal(doc.drops.bad_mac ?? 0, 0);
    assert.equal(doc.drops.unknown_key ?? 0, 0);
    const discards = master.lines
      .filter((l) => json(l)?.msg === 'check discarded')
      .map((l) => json(l)!.reason as string);
    assert.equal(
      doc.nodes.reduce((n: number, node: any) => n + node.discarded, 0),
      discards.length,
    );
    for (const reason of discards) assert.match(reason, /held leg \d+ for|clock stepped/, `discarded: ${reason}`);
    if (discards.length > 0) t.diagnostic(`checks discarded for their timing, not their key: ${discards.join('; ')}`);
    for (const slave of slaves)
      assert.ok(
        !slave.lines.some((l) => parseLlog(l.text)?.message === 'master unreachable'),
        `a slave lost a check:\n${slave.output()}`,
      );

    // A slave still on the old key is refused, and the master names its address.
    const laggardKeys = join(dir, 'laggard.keys');
    writeKeys(laggardKeys, [`1 ${K1}`]);
    const laggard = start([
      '--master-addr',
      udp,
      '--listen-addr',
      '127.0.0.1:0',
      '--hmac-key-file',
      laggardKeys,
      '--name',
      'laggard',
      // Long enough that a refused check gives up (4 legs of interval/5) well before the next one
      // starts, even with timers late on a loaded machine.
      '--interval',
      '1s',
    ]);
    const laggardAddr = (await laggard.waitForLog('slave listening')).addr as string;
    const warning = await master.waitForLine((l) => json(l)?.msg?.startsWith('datagram failed authentication'));
    assert.equal(json(warning)!.from, laggardAddr);
    assert.equal(json(warning)!.reason, 'unknown_key');
    assert.equal(json(warning)!.keyId, 1);
    assert.equal(json(warning)!.level, 40);
    // A check overtaken by the next one says so instead ("the previous check was still open"); the
    // first one that runs its course names the key.
    const unreachable = await laggard.waitForLine((l) => {
      const line = parseLlog(l.text);
      return (
        line?.message === 'master unreachable' &&
        line.fields.reason !== undefined &&
        !/still open/.test(line.fields.reason)
      );
    });
    assert.match(parseLlog(unreachable.text)!.fields.reason!, /a wrong or retired HMAC key looks the same/);
    assert.ok(!(await status()).nodes.some((n: any) => n.id === 'laggard'));
    await laggard.stop();
  });

  test('SIGHUP with a broken or exposed key file keeps the keys in use, and says so', async () => {
    const file = join(dir, 'reload.keys');
    writeKeys(file, [`1 ${K1}`]);
    const master = start(['--listen-addr', '127.0.0.1:0', '--hmac-key-file', file]);
    await master.waitForLog('started');
    writeKeys(file, ['1 short']);
    process.kill(master.child.pid!, 'SIGHUP');
    const broken = await master.waitForLog('HMAC key file not reloaded: the keys in use stay');
    assert.match(broken.err, /at least 16 bytes/);
    chmodSync(file, 0o644);
    writeKeys(file, [`3 ${K2}`]);
    chmodSync(file, 0o644);
    const from = master.lines.length;
    process.kill(master.child.pid!, 'SIGHUP');
    const exposed = await master.waitForLine(
      (l) => json(l)?.msg === 'HMAC key file not reloaded: the keys in use stay',
      20_000,
      from,
    );
    assert.match(json(exposed)!.err, /open to other users \(mode 0644\)/);
    chmodSync(file, 0o600);
    assert.deepEqual(await reload(master), [3]);
    assert.equal(master.child.exitCode, null, 'SIGHUP no longer kills the process');
    await master.stop();
  });

  test('key files others can read (HMAC, Roughtime) are refused at start (one sentence, exit 2) unless --allow-insecure-key-file', async () => {
    const file = join(dir, 'exposed.keys');
    writeKeys(file, [K1]);
    chmodSync(file, 0o644);
    const refused = start(['--listen-addr', '127.0.0.1:0', '--hmac-key-file', file]);
    const { code } = await refused.exited;
    assert.equal(code, 2);
    const errors = refused.lines.filter((l) => l.stream === 'stderr');
    assert.equal(errors.length, 1, refused.output());
    assert.match(
      errors[0]!.text,
      /^saturn: HMAC key file .* is open to other users \(mode 0644\): chmod 600 it, or pass --allow-insecure-key-file$/,
    );
    const allowed = start(['--listen-addr', '127.0.0.1:0', '--hmac-key-file', file, '--allow-insecure-key-file']);
    await allowed.waitForLog('master listening');
    await allowed.stop();

    // The Roughtime long-term key of `saturn roughtime serve` is guarded the same way.
    const roughtimeKey = join(dir, 'roughtime.key');
    const made = SaturnProcess.start(['keygen', '--out', roughtimeKey]);
    assert.equal((await made.exited).code, 0);
    chmodSync(roughtimeKey, 0o640);
    const serve = (extra: string[]) => {
      const proc = SaturnProcess.start([
        'roughtime',
        'serve',
        '--listen-addr',
        '127.0.0.1:0',
        '--key-file',
        roughtimeKey,
        ...extra,
      ]);
      procs.push(proc);
      return proc;
    };
    const refusedServer = serve([]);
    assert.equal((await refusedServer.exited).code, 2);
    assert.deepEqual(
      refusedServer.lines.map((l) => l.text),
      [
        `saturn: Roughtime key file ${roughtimeKey} is open to other users (mode 0640): chmod 600 it, or pass --allow-insecure-key-file`,
      ],
    );
    const allowedServer = serve(['--allow-insecure-key-file']);
    await allowedServer.waitForLine((l) => l.text.startsWith('roughtime server listening on'));
    await allowedServer.stop();
  });

  test('the key never appears in logs, /status, /metrics, errors or the command line', async () => {
    const file = join(dir, 'secret.keys');
    writeKeys(file, [`7 ${K1}`]);
    const master = start([
      '--listen-addr',
      '127.0.0.1:0',
      '--metrics-addr',
      '127.0.0.1:0',
      '--hmac-key-file',
      file,
      '--log-level',
      'debug',
    ]);
    const udp = (await master.waitForLog('master listening')).addr as string;
    const http = (await master.waitForLog('http listening')).addr as string;
    await master.waitForLog('started');
    // A slave with the key in its environment, and one with a wrong key (its drops are logged).
    const slave = start(
      [
        '--master-addr',
        udp,
        '--listen-addr',
        '127.0.0.1:0',
        '--name',
        'env-slave',
        '--interval',
        '200ms',
        '--log-level',
        'debug',
      ],
      {
        SATURN_HMAC_KEY: K2,
      },
    );
    writeKeys(file, [`7 ${K1}`, `0 ${K2}`]);
    process.kill(master.child.pid!, 'SIGHUP');
    await master.waitForLog('HMAC keys reloaded');
    await slave.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset');
    const wrong = start(
      ['--master-addr', udp, '--listen-addr', '127.0.0.1:0', '--name', 'wrong', '--interval', '200ms'],
      {
        SATURN_HMAC_KEY: `${K2}-but-not-quite`,
      },
    );
    await master.waitForLine((l) => json(l)?.msg?.startsWith('datagram failed authentication') ?? false);
    // Errors that involve the key: a short one, a broken file.
    const short = start(['--listen-addr', '127.0.0.1:0'], { SATURN_HMAC_KEY: K1.slice(0, 10) });
    await short.exited;
    const brokenFile = join(dir, 'broken.keys');
    writeKeys(brokenFile, [`1 ${K1}`, `garbage ${K2}`]);
    const broken = start(['--listen-addr', '127.0.0.1:0', '--hmac-key-file', brokenFile]);
    await broken.exited;
    const pages = [
      await (await fetch(`http://${http}/status`)).text(),
      await (await fetch(`http://${http}/metrics`)).text(),
    ];
    const cmdlines = [master, slave, wrong].map((p) => readFileSync(`/proc/${p.child.pid}/cmdline`, 'utf8'));
    const everything = [...procs.map((p) => p.output()), ...pages, ...cmdlines].join('\n');
    for (const key of [K1, K2, K1.slice(0, 10)]) {
      for (const form of [key, Buffer.from(key).toString('hex'), Buffer.from(key).toString('base64')])
        assert.ok(!everything.includes(form), `the key appears (as ${form})`);
    }
    assert.match(short.output(), /at least 16 bytes, got 10/);
    assert.match(broken.output(), /line 2: expected "ID KEY"/);
    await Promise.all([master.stop(), slave.stop(), wrong.stop()]);
  });
});
