/**
 * The master's own clock stepped under faketime (its wall clock only, monotonic time untouched,
 * as `date -s` does): the master tells each step as a clock_step event, with its size.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { hasCommand } from '../helpers/system.js';

const KEY = 'clock-step-test-key-0123456789';

/** libfaketime itself: preloaded directly, since the faketime wrapper's own FAKETIME outranks a timestamp file. */
function libfaketime(): string | undefined {
  for (const dir of ['/usr/lib', '/usr/local/lib', '/usr/lib64']) {
    if (!existsSync(dir)) continue;
    for (const sub of ['', ...readdirSync(dir)]) {
      const path = join(dir, sub, 'faketime', 'libfaketime.so.1');
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

test('a master whose clock is stepped ±500 ms says so at WARN, once per step, with the size', async (t) => {
  const preload = libfaketime();
  if (!hasCommand('faketime') || preload === undefined) {
    t.skip('faketime is not installed (apt-get install faketime; .ci/run installs it)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'saturn-step-'));
  const offsetFile = join(dir, 'faketime');
  writeFileSync(offsetFile, '+0\n');
  const procs: SaturnProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });
  // libfaketime reads the offset from the file again at most every FAKETIME_CACHE_DURATION seconds.
  const master = SaturnProcess.start(
    [
      '--listen-addr',
      '127.0.0.1:0',
      '--hmac-key',
      KEY,
      '--interval',
      '200ms',
      '--log-format',
      'json',
      '--name',
      'master',
    ],
    {
      env: {
        LD_PRELOAD: preload,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_CACHE_DURATION: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      },
    },
  );
  procs.push(master);
  const udp = (await master.waitForLog('master listening')).addr as string;
  const slave = SaturnProcess.start([
    '--master-addr',
    udp,
    '--listen-addr',
    '127.0.0.1:0',
    '--hmac-key',
    KEY,
    '--interval',
    '200ms',
    '--name',
    'honest',
  ]);
  procs.push(slave);
  await master.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset');
  const steps: number[] = [];
  let offsetMs = 0;
  for (const stepMs of [500, -500, 500]) {
    offsetMs += stepMs;
    const from = master.lines.length;
    writeFileSync(offsetFile, `${offsetMs >= 0 ? '+' : ''}${offsetMs / 1000}\n`);
    const line = await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'clock_step', 20_000, from);
    const fields = parseLlog(line.text)!;
    assert.equal(fields.level, 'WARN');
    assert.equal(fields.message, 'clock stepped');
    assert.equal(fields.fields.name, 'master');
    steps.push(Math.round(Number(fields.fields.offset) / 100) * 100);
    assert.match(fields.fields.reason!, /checks that span it are discarded/);
  }
  assert.deepEqual(steps, [500, -500, 500]);
  const stepEvents = master.lines.filter((l) => parseLlog(l.text)?.fields.event === 'clock_step');
  assert.equal(stepEvents.length, 3, 'one event per step');
});
