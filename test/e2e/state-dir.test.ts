/**
 * The state dir under faults, with the real binary: a file system that fills up while drift events
 * stream in (a 128 KiB tmpfs; mounting one needs root, as CI has: skipped with a message otherwise).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parsePrometheusText, samplesOf } from '../helpers/prom-text.js';
import { type SaturnProcess as Proc, SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const KEY = 'e2e-state-dir-key-0123456789';

/** Mounts a tmpfs of `size` at a fresh directory; a reason to skip when that is not possible here. */
function mountTmpfs(size: string): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'mounting a small tmpfs needs root (CI runs as root)' };
  const dir = mkdtempSync(join(tmpdir(), 'saturn-full-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here: ${(mount.stderr || mount.error?.message || '').trim()}` };
  }
  return { dir };
}

/** Writes zeros into `path` until the file system says it is full. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

function eventLines(proc: Proc) {
  return proc.lines
    .filter((l) => l.stream === 'stdout')
    .map((l) => parseLlog(l.text))
    .filter((p) => p?.fields.event !== undefined)
    .map((p) => p!.fields);
}

async function metrics(url: string) {
  return parsePrometheusText(await (await fetch(url)).text());
}

const tmpfs = mountTmpfs('128k');

describe('a state dir on a file system that fills up', { skip: 'skip' in tmpfs ? tmpfs.skip : false }, () => {
  const procs: Proc[] = [];
  const receivers: WebhookReceiver[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await Promise.all(receivers.map((r) => r.close()));
    if ('dir' in tmpfs) {
      spawnSync('umount', [tmpfs.dir]);
      rmSync(tmpfs.dir, { recursive: true, force: true });
    }
  });

  test('events raised while the disk is full are kept, retried, then all shown and delivered; checks go on', async (t) => {
    const mnt = (tmpfs as { dir: string }).dir;
    const stateDir = join(mnt, 'state');
    mkdirSync(stateDir);
    const receiver = await new WebhookReceiver().listen();
    receivers.push(receiver);
    receiver.answer = () => ({ status: 503 }); // undelivered events pile up in the outbox file
    const master = SaturnProcess.start([
      ...['--listen-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--hmac-key', KEY, '--log-format', 'json'],
      ...['--interval', '200ms', '--realert', '200ms', '--state-dir', stateDir, '--webhook-url', receiver.url],
    ]);
    procs.push(master);
    const udp = (await master.waitForLog('master listening')).addr as string;
    const metricsUrl = `http://${(await master.waitForLog('http listening')).addr}/metrics`;
    const slave = SaturnProcess.start([
      ...['--master-addr', udp, '--listen-addr', '127.0.0.1:0', '--hmac-key', KEY, '--name', 'shifted'],
      ...['--interval', '200ms', '--clock-offset', '750ms', '--log-format', 'json'],
    ]);
    procs.push(slave);
    await master.waitForLine(() => eventLines(master).length >= 2, 30_000);

    fillUp(join(mnt, 'filler'));
    const failure = await master.waitForLog(
      'cannot make events durable: they are kept in memory, not shown yet, and retried',
      30_000,
    );
    assert.equal(failure.level, 50, 'logged at ERROR');
    assert.equal(failure.errno, 'ENOSPC');
    const failingSince = Date.now();
    // Checks go on while the disk is full: more per-check lines, and the master is still there.
    const linesAtFailure = master.lines.length;
    await master.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset', 20_000, linesAtFailure);
    await master.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset', 20_000, master.lines.length);
    const during = await metrics(metricsUrl);
    const failures = samplesOf(during, 'saturn_event_commit_failures_total', { reason: 'enospc' });
    assert.ok(failures.length === 1 && failures[0]!.value > 0, 'failures exported');
    assert.ok(samplesOf(during, 'saturn_events_uncommitted')[0]!.value > 0, 'events waiting are exported');
    assert.equal(master.child.exitCode, null, 'the master is still running');

    // Let a backlog build up: ten events raised while nothing can be written.
    const uncommitted = async () => samplesOf(await metrics(metricsUrl), 'saturn_events_uncommitted')[0]!.value;
    for (const deadline = Date.now() + 30_000; (await uncommitted()) < 10;) {
      assert.ok(Date.now() < deadline, 'ten events waiting within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200)); // a scrape every 200 ms
    }
    assert.equal(master.child.exitCode, null, 'the master is still running');
    const beforeSpace = await metrics(metricsUrl);
    const failedCommits = samplesOf(beforeSpace, 'saturn_event_commit_failures_total', { reason: 'enospc' })[0]!.value;
    const heldWhileFull = samplesOf(beforeSpace, 'saturn_events_uncommitted')[0]!.value;
    unlinkSync(join(mnt, 'filler'));
    const failingMs = Date.now() - failingSince;
    receiver.answer = () => ({ status: 200 });
    await master.waitForLog('events durable again after failed attempts: shown and delivered now', 60_000);
    await slave.stop();
    await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'slave_lost', 30_000);

    const shown = eventLines(master).map((f) => Number(f.sequence));
    assert.deepEqual(
      shown,
      shown.map((_, i) => i + 1),
      'every event raised is shown once, in order, none skipped',
    );
    const raised = samplesOf(await metrics(metricsUrl), 'saturn_events_total').reduce((sum, s) => sum + s.value, 0);
    assert.equal(shown.length, raised, 'as many events shown as raised: 0 lost');
    await receiver.until(
      () => shown.every((s) => receiver.accepted.some((r) => r.key === String(s))),
      60_000,
      'every event delivered',
    );
    for (const r of receiver.requests) assert.equal(r.key, String(r.json.sequence), 'whole records only');
    t.diagnostic(
      `commits failed for ${failingMs} ms (${failedCommits} attempts), ${heldWhileFull} events held when space came back; ` +
        `${raised} events raised, ${shown.length} shown, all delivered`,
    );
    await master.stop();
    assert.notEqual((await master.exited).code, 1);
  });
});

describe('two nodes on one state dir', () => {
  const procs: Proc[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'saturn-e2e-state-'));
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });
  const master = () =>
    SaturnProcess.start([
      '--listen-addr',
      '127.0.0.1:0',
      '--hmac-key',
      KEY,
      '--log-format',
      'json',
      '--state-dir',
      dir,
    ]);

  test('the second is refused at start with one sentence and exit 2; after a SIGKILL of the first, a new one starts', async () => {
    const first = master();
    procs.push(first);
    await first.waitForLog('master listening');
    const second = master();
    procs.push(second);
    const exit = await second.exited;
    assert.equal(exit.code, 2, second.output());
    const stderr = second.lines.filter((l) => l.stream === 'stderr').map((l) => l.text);
    assert.equal(stderr.length, 1, second.output());
    assert.match(
      stderr[0]!,
      new RegExp(`--state-dir ${dir} is in use by another saturn \\(process ${first.child.pid}\\)`),
    );
    await first.stop('SIGKILL');
    const third = master();
    procs.push(third);
    await third.waitForLog('master listening');
    await third.stop();
  });
});
