/**
 * The master's own clock stepped under faketime (its wall clock only, monotonic time untouched,
 * as `date -s` does), five times, with three honest slaves: the master tells each step as a
 * clock_step event, with its size, and the slaves' agreement keeps a step of the master's from
 * being alarmed as drift of theirs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { SystemClock } from '../../src/clock/system-clock.js';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import type { Result } from '../../src/wire/messages.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
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

test('a master whose clock is stepped ±500 ms five times says so at WARN each time, raises no drift alarm against honest slaves, and reports no check that spans a step', async (t) => {
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
  const names = ['honest-1', 'honest-2', 'honest-3'];
  for (const name of names) {
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
      name,
    ]);
    procs.push(slave);
  }
  /** Waits until every slave has a check reported from line `from` on whose offset is near `expectMs`. */
  const measuredNear = async (expectMs: number, from: number) => {
    const pending = new Set(names);
    await master.waitForLine(
      (l) => {
        const line = parseLlog(l.text);
        if (line?.message === 'slave offset' && Math.abs(Number(line.fields.offset) - expectMs) < 100)
          pending.delete(line.fields.name!);
        return pending.size === 0;
      },
      30_000,
      from,
    );
  };
  await measuredNear(0, 0);
  // A check held open across the first step, so one surely spans it (the slaves' take a millisecond).
  const held = new HeldCheck(udp);
  procs.push({ stop: async () => held.close() } as unknown as SaturnProcess);
  const heldResult = held.run();
  await held.holding;
  const steps: number[] = [];
  let offsetMs = 0;
  for (const stepMs of [500, -500, 500, -500, 500]) {
    offsetMs += stepMs;
    const from = master.lines.length;
    writeFileSync(offsetFile, `${offsetMs >= 0 ? '+' : ''}${offsetMs / 1000}\n`);
    const line = await master.waitForLine((l) => parseLlog(l.text)?.fields.event === 'clock_step', 20_000, from);
    if (steps.length === 0) {
      held.release();
      const result = await heldResult;
      assert.equal(result.ok, false, 'a check spanning the step is not measured');
      assert.equal(result.reason, 'a clock stepped during the check');
      // Other checks may have spanned the step too (and be discarded likewise): this one surely did.
      const discarded = await master.waitForLine(
        (l) => l.stream === 'stderr' && l.text.includes('"check discarded"') && l.text.includes('"name":"held"'),
      );
      assert.equal(JSON.parse(discarded.text).reason, 'a clock stepped during the check');
      held.close();
    }
    const fields = parseLlog(line.text)!;
    assert.equal(fields.level, 'WARN');
    assert.equal(fields.message, 'clock stepped');
    assert.equal(fields.fields.name, 'master');
    steps.push(Math.round(Number(fields.fields.offset) / 100) * 100);
    assert.match(fields.fields.reason!, /checks that span it are discarded/);
    // Offsets are slave − master: after the master stepped ahead, honest slaves read behind.
    await measuredNear(-offsetMs, master.lines.indexOf(line));
  }
  assert.deepEqual(steps, [500, -500, 500, -500, 500]);
  const parsed = master.lines.map((l) => parseLlog(l.text)).filter((l) => l !== undefined);
  assert.equal(parsed.filter((l) => l.fields.event === 'clock_step').length, 5, 'one event per step');
  // The honest slaves agree with each other: the master's steps are no drift of theirs.
  const alarms = parsed.filter((l) => l.fields.event === 'drift');
  assert.deepEqual(alarms, [], 'no drift alarm against an honest slave');
  // A check spanning a step is discarded, never reported with an offset between the two clocks.
  for (const line of parsed.filter((l) => l.message === 'slave offset')) {
    const offset = Number(line.fields.offset);
    assert.ok(Math.abs(offset) < 100 || Math.abs(offset + 500) < 100, `a check reported ${offset} ms`);
  }
});

/**
 * A node with the fleet's key that runs one check against the master and holds it open: the
 * master's third answer (after the cookie and the first leg) waits until release(), and is then
 * taken as received, so the check spans whatever happened meanwhile.
 */
class HeldCheck {
  private readonly socket = createSocket('udp4');
  private readonly clock = new SystemClock();
  private readonly initiator = new CheckInitiator({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode(KEY))),
    nodeId: 'held',
    intervalNs: 10e9,
  });
  private readonly to: { host: string; port: number };
  private onHold!: () => void;
  private resume: (() => void) | undefined;
  /** Resolves once an answer is held. */
  readonly holding = new Promise<void>((resolve) => (this.onHold = resolve));

  constructor(udp: string) {
    const colon = udp.lastIndexOf(':');
    this.to = { host: udp.slice(0, colon), port: Number(udp.slice(colon + 1)) };
  }

  /** Runs the check; resolves on its Result. */
  run(): Promise<Result> {
    let answers = 0;
    return new Promise((resolve) => {
      const take = (bytes: Buffer) => {
        const outcome = this.initiator.handle(bytes, this.clock.read(), 0);
        if (outcome.kind === 'reply') this.send(outcome.reply.build(this.clock.read()));
        if (outcome.kind === 'result') resolve(outcome.result);
      };
      this.socket.on('message', (bytes) => {
        if (++answers !== 3) return take(bytes);
        this.resume = () => take(bytes);
        this.onHold();
      });
      this.send(this.initiator.start('master', 0).outgoing.build(this.clock.read()));
    });
  }

  release(): void {
    this.resume?.();
  }

  private send(bytes: Uint8Array): void {
    this.socket.send(bytes, this.to.port, this.to.host);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed already
    }
  }
}
