/**
 * Reliability under attack: real checks of real slaves while a master is flooded.
 *
 * A real `bin/saturn` master; N slaves in this process (the production SlaveService on its
 * own socket each: retransmissions and give-up as deployed); a flood from a separate process
 * (bench/lib/flooder.ts). Each scenario runs for the same window and reports the share of the
 * slaves' checks that completed, the master's RSS before and after and its CPU, the datagrams the
 * kernel dropped at the master's socket, and the master's drop counters. The baseline, measured
 * first in the same run, is the same slaves with no flood; the last column is the ratio of
 * completed checks to the baseline's.
 *
 * Scenarios: a garbage flood at each --rates value (datagrams/s, or "max": as fast as one
 * process sends); after the "max" flood, how long until every slave has completed a check again;
 * a key holder opening leg-0-only checks at full rate from 1 and from 50 source addresses.
 *
 *   npm run bench:reliability -- [--slaves 50] [--interval 1s] [--seconds 20] [--rates 20000,max]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SystemClock } from '../src/clock/system-clock.js';
import { buildConfig } from '../src/config/build-config.js';
import { EventJournal } from '../src/events/journal.js';
import { MemorySequence } from '../src/events/sequence-store.js';
import { createDiagnostics } from '../src/log/diagnostics.js';
import { LlogWriter } from '../src/log/llog.js';
import { SlaveService } from '../src/service/slave-service.js';
import { parseDuration } from '../src/util/parse.js';
import { cpuMicros, rssBytes } from './lib/proc-usage.js';

const KEY = 'bench-reliability-key-0123456789';
const BIN = fileURLToPath(new URL('../../bin/saturn', import.meta.url));
const FLOODER = fileURLToPath(new URL('./lib/flooder.js', import.meta.url));

const { values } = parseArgs({
  options: {
    slaves: { type: 'string', default: '50' },
    interval: { type: 'string', default: '1s' },
    seconds: { type: 'string', default: '20' },
    rates: { type: 'string', default: '20000,max' },
  },
});
const slaveCount = Number(values.slaves);
const interval = values.interval;
const intervalMs = parseDuration(interval, '--interval', 's') / 1e6;
const windowMs = Number(values.seconds) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { write: () => true };

interface Master {
  process: ChildProcess;
  pid: number;
  udp: string;
  http: string;
}

async function startMaster(): Promise<Master> {
  const child = spawn(process.execPath, [
    BIN,
    '--listen-addr',
    '127.0.0.1:0',
    '--metrics-addr',
    '127.0.0.1:0',
    '--hmac-key',
    KEY,
    '--interval',
    interval,
    '--log-format',
    'json',
    '--name',
    'master',
  ]);
  child.stdout!.resume();
  let udp = '';
  let http = '';
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('master exited')));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { msg: string; addr?: string };
        if (record.msg === 'master listening') udp = record.addr!;
        if (record.msg === 'http listening') http = record.addr!;
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (udp && http) resolve();
    });
  });
  return { process: child, pid: child.pid!, udp, http };
}

/** Why the slaves' checks failed: the master's discard reasons (from their warnings), by kind. */
const discards = new Map<string, number>();
const slaveWarnings = {
  write(line: string) {
    const record = JSON.parse(line) as { msg: string; reason?: string };
    if (record.msg === 'check discarded by the master') {
      const kind = (record.reason ?? '').replace(/\d+/g, 'N');
      discards.set(kind, (discards.get(kind) ?? 0) + 1);
    }
    return true;
  },
};

async function startSlaves(master: Master): Promise<SlaveService[]> {
  const slaves: SlaveService[] = [];
  for (let i = 0; i < slaveCount; i++) {
    const name = `sim-${i}`;
    const config = buildConfig({ masterAddr: master.udp, listenAddr: '127.0.0.1:0', hmacKey: KEY, name, interval });
    slaves.push(
      await SlaveService.start(config, {
        clock: new SystemClock(),
        logger: createDiagnostics({ level: 'warn', format: 'json', sink: slaveWarnings }),
        llog: new LlogWriter(quiet),
        journal: new EventJournal({
          reporter: name,
          sequence: new MemorySequence(),
          clock: new SystemClock(),
          logger: createDiagnostics({ level: 'warn', format: 'json', sink: slaveWarnings }),
        }),
      }),
    );
  }
  return slaves;
}

async function startFlooder(args: string[]): Promise<{ stop(): Promise<number> }> {
  const child = spawn(process.execPath, [FLOODER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.setEncoding('utf8');
  let out = '';
  child.stdout!.on('data', (chunk: string) => (out += chunk));
  while (!out.includes('ready')) await sleep(10);
  return {
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
      return (JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{"sent":0}') as { sent: number }).sent;
    },
  };
}

/** The master's counters from /metrics: drops by reason and the kernel's receive-buffer drops. */
async function masterCounters(master: Master): Promise<{ drops: Record<string, number>; kernel: number }> {
  const text = await (await fetch(`http://${master.http}/metrics`)).text();
  const drops: Record<string, number> = {};
  for (const m of text.matchAll(/^saturn_datagrams_dropped_total\{reason="(\w+)"\} (\d+)/gm))
    drops[m[1]!] = Number(m[2]);
  const kernel = Number(/^saturn_udp_receive_buffer_drops_total (\d+)/m.exec(text)?.[1] ?? 0);
  return { drops, kernel };
}

interface Window {
  completed: number;
  failed: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  cpuPct: number;
  kernelDrops: number;
  drops: Record<string, number>;
  /** Failed checks the master discarded (and why); the rest went unanswered. */
  discarded: Record<string, number>;
}

/** Counts the slaves' checks over one window, with `during` running for its length. */
async function measure(master: Master, slaves: SlaveService[]): Promise<Window> {
  const done = () => slaves.reduce((n, s) => n + s.checksCompleted, 0);
  const failed = () => slaves.reduce((n, s) => n + s.checksFailed, 0);
  const before = { done: done(), failed: failed(), rss: rssBytes(master.pid), cpu: cpuMicros(master.pid) };
  const counters = await masterCounters(master);
  discards.clear();
  const t0 = performance.now();
  await sleep(windowMs);
  const elapsedMs = performance.now() - t0;
  const after = await masterCounters(master);
  const drops: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.drops)) {
    const delta = n - (counters.drops[reason] ?? 0);
    if (delta > 0) drops[reason] = delta;
  }
  return {
    completed: done() - before.done,
    failed: failed() - before.failed,
    rssBeforeMb: before.rss / 2 ** 20,
    rssAfterMb: rssBytes(master.pid) / 2 ** 20,
    cpuPct: ((cpuMicros(master.pid) - before.cpu) / (elapsedMs * 1000)) * 100,
    kernelDrops: after.kernel - counters.kernel,
    drops,
    discarded: Object.fromEntries(discards),
  };
}

/** Milliseconds from now until every slave has completed one more check. */
async function timeToResume(slaves: SlaveService[]): Promise<number> {
  const t0 = performance.now();
  const marks = slaves.map((s) => s.checksCompleted);
  while (slaves.some((s, i) => s.checksCompleted <= marks[i]!)) {
    if (performance.now() - t0 > 20 * intervalMs) return Infinity;
    await sleep(5);
  }
  return performance.now() - t0;
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const share = (w: Window) => (w.completed + w.failed === 0 ? 0 : w.completed / (w.completed + w.failed));

console.log(
  `reliability: ${slaveCount} slaves, interval ${interval}, ${windowMs / 1000} s per scenario, node ${process.version}`,
);
console.log(
  'scenario | flood sent/s | checks completed (of started) | master CPU % | RSS before → after MB | kernel drops | master drops | failed checks the master discarded | ratio to baseline',
);
const master = await startMaster();
const slaves = await startSlaves(master);
await sleep(3 * intervalMs); // every slave has its cookie and a history
const baseline = await measure(master, slaves);
const row = (name: string, w: Window, sentPerS: number, extra = '') =>
  console.log(
    [
      name,
      fmt(sentPerS, 0),
      `${fmt(share(w) * 100, 2)}% (${w.completed}/${w.completed + w.failed})`,
      fmt(w.cpuPct),
      `${fmt(w.rssBeforeMb)} → ${fmt(w.rssAfterMb)}`,
      w.kernelDrops,
      JSON.stringify(w.drops),
      `${JSON.stringify(w.discarded)}`,
      `${fmt(share(w) / share(baseline), 3)}x${extra}`,
    ].join(' | '),
  );
row('baseline (no flood)', baseline, 0);
for (const rate of values.rates.split(',')) {
  const flood = await startFlooder(['garbage', master.udp.split(':').pop()!, rate]);
  const w = await measure(master, slaves);
  const sent = await flood.stop();
  const resumeMs = await timeToResume(slaves);
  row(
    `garbage ${rate === 'max' ? 'at full rate' : `at ${rate}/s`}`,
    w,
    sent / (windowMs / 1000),
    `; every slave checked again ${fmt(resumeMs, 0)} ms after the flood (interval ${intervalMs} ms)`,
  );
  await sleep(2 * intervalMs);
}
for (const sources of [1, 50]) {
  const flood = await startFlooder(['sessions', master.udp.split(':').pop()!, String(sources), KEY]);
  const w = await measure(master, slaves);
  const sent = await flood.stop();
  row(`key holder, leg-0-only checks from ${sources} source${sources > 1 ? 's' : ''}`, w, sent / (windowMs / 1000));
  await sleep(2 * intervalMs);
}
for (const slave of slaves) await slave.close();
master.process.kill('SIGTERM');
await once(master.process, 'exit');
