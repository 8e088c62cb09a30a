/**
 * Master scale: how many slaves one master can watch.
 *
 * N simulated slaves (one UDP socket each, in this process) run a check of `rounds` legs every
 * interval against a real `bin/saturn` master process, staggered over the interval. Figures per N:
 * checks completed per second, master CPU per check and as a share of one core, master RSS, p99 of
 * the time a leg waits inside the master (socket receipt to send stamp, from its /status), lost
 * checks. Baseline in the same run: a bare Node UDP echo server under the same datagram pattern
 * (the floor for any Node UDP server here); the last line is the ratio of CPU per datagram.
 *
 *   npm run bench:scale -- [--slaves 100,1000,10000] [--interval 10s] [--rounds 5] [--seconds 20]
 *                          [--reference-check 1s]
 *
 * With --reference-check, each N is measured once more with the master also checking its clock
 * against a local `saturn roughtime serve` that often (its requests and answers through the
 * pipeline, verified on a worker), and a second line compares the leg hold with and without.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/util/parse.js';
import { SystemClock } from '../src/clock/system-clock.js';
import { CheckInitiator } from '../src/protocol/initiator.js';
import { Envelope } from '../src/wire/envelope.js';
import { cpuMicros, rssBytes } from './lib/proc-usage.js';

const KEY = 'bench-master-scale-key-0123456789';
const BIN = fileURLToPath(new URL('../../bin/saturn', import.meta.url));
const ECHO = fileURLToPath(new URL('./lib/echo-server.js', import.meta.url));

const { values } = parseArgs({
  options: {
    slaves: { type: 'string', default: '100,1000,10000' },
    interval: { type: 'string', default: '10s' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '20' },
    'reference-check': { type: 'string' },
  },
});
const referenceCheck = values['reference-check'];
const intervalMs = parseDuration(values.interval, '--interval', 's') / 1e6;
const rounds = Number(values.rounds);
const measureMs = Number(values.seconds) * 1000;

interface Target {
  port: number;
  pid: number;
  process: ChildProcess;
  statusUrl?: string;
}

/** One simulated slave: builds its next datagram from the previous reply, or says the check is done. */
interface Driver {
  begin(): Uint8Array;
  next(reply: Buffer): Uint8Array | 'done' | undefined;
}

function saturnDriver(name: string, clock: SystemClock): Driver {
  const core = new CheckInitiator({ envelope: new Envelope(new TextEncoder().encode(KEY)), nodeId: name });
  return {
    begin: () => core.start(clock.stepCount).build(clock.read()),
    next: (reply) => {
      const outcome = core.handle(reply, clock.read(), clock.stepCount);
      if (outcome.kind === 'reply') return outcome.reply.build(clock.read());
      if (outcome.kind === 'result') return 'done';
      return undefined;
    },
  };
}

/** The same datagram pattern against the echo server: rounds + 1 round trips per check. */
function echoDriver(): Driver {
  const datagram = new Uint8Array(110);
  let legs = 0;
  return {
    begin: () => ((legs = 0), datagram),
    next: () => (++legs > rounds ? 'done' : datagram),
  };
}

interface LoadResult {
  completed: number;
  started: number;
  lost: number;
  datagrams: number;
  cpuUs: number;
  rss: number;
  elapsedMs: number;
}

/** Runs `n` slaves against the target for the measurement window (after one interval of warm-up). */
async function load(target: Target, n: number, makeDriver: (i: number) => Driver): Promise<LoadResult> {
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let measuring = false;
  let completed = 0;
  let started = 0;
  let lost = 0;
  let datagrams = 0;
  for (let i = 0; i < n; i++) {
    const driver = makeDriver(i);
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    sockets.push(socket);
    let open = false;
    let counted = false;
    let deadline: NodeJS.Timeout | undefined;
    socket.on('message', (reply) => {
      if (!open) return;
      if (counted) datagrams++;
      const next = driver.next(reply);
      if (next === 'done') {
        open = false;
        clearTimeout(deadline);
        if (counted) completed++;
      } else if (next) {
        if (counted) datagrams++;
        socket.send(next, target.port, '127.0.0.1');
      }
    });
    const check = () => {
      if (open && counted) lost++;
      open = true;
      counted = measuring;
      if (counted) started++;
      clearTimeout(deadline);
      deadline = setTimeout(() => {
        if (open && counted) lost++;
        open = false;
      }, 2000);
      if (counted) datagrams++;
      socket.send(driver.begin(), target.port, '127.0.0.1');
    };
    // Staggered: slave i starts at a random point of the first interval, then every interval.
    timers.push(
      setTimeout(() => {
        check();
        timers.push(setInterval(check, intervalMs));
      }, Math.random() * intervalMs),
    );
  }
  await sleep(intervalMs + 500); // every slave has run one (uncounted) check: JIT warm, tables full
  measuring = true;
  const cpuBefore = cpuMicros(target.pid);
  const t0 = performance.now();
  await sleep(measureMs);
  measuring = false;
  const cpuUs = cpuMicros(target.pid) - cpuBefore;
  const elapsedMs = performance.now() - t0;
  await sleep(2100); // checks begun in the window finish (or time out as lost)
  const rss = rssBytes(target.pid);
  for (const t of timers) clearTimeout(t);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return { completed, started, lost, datagrams, cpuUs, rss, elapsedMs };
}

async function startMaster(extra: string[] = []): Promise<Target> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.MASTER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      BIN,
      '--listen-addr',
      '127.0.0.1:0',
      '--metrics-addr',
      '127.0.0.1:0',
      '--hmac-key',
      KEY,
      '--rounds',
      String(rounds),
      '--log-format',
      'json',
      '--log-level',
      'info',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.resume(); // the per-check INFO lines are written, as in production, and discarded here
  let port = 0;
  let statusUrl: string | undefined;
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('master exited')));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { msg: string; addr?: string; url?: string };
        if (record.msg === 'master listening') port = Number(record.addr!.split(':').pop());
        if (record.msg === 'http listening') statusUrl = record.url;
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (port && statusUrl) resolve();
    });
  });
  return { port, pid: child.pid!, process: child, statusUrl };
}

/** A local `saturn roughtime serve`; resolves with its host:port=KEY spec. */
async function startRoughtime(): Promise<{ spec: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'roughtime', 'serve', '--listen-addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let buffer = '';
  const spec = await new Promise<string>((resolve, reject) => {
    child.once('exit', () => reject(new Error('roughtime server exited')));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const found = /listening on (\S+) public key (\S+)/.exec(buffer);
      if (found) resolve(`${found[1]}=${found[2]}`);
    });
  });
  return { spec, process: child };
}

/** Reference checks the master answered ok so far, from its /metrics. */
async function referenceChecks(statusUrl: string): Promise<number> {
  const text = await (await fetch(statusUrl.replace(/\/status$/, '/metrics'))).text();
  let sum = 0;
  for (const match of text.matchAll(/^saturn_roughtime_checks_total\{[^}]*result="ok"[^}]*\} (\d+)$/gm))
    sum += Number(match[1]);
  return sum;
}

async function startEcho(): Promise<Target> {
  const child = spawn(process.execPath, [ECHO, '110'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(chunk.toString().trim()), pid: child.pid!, process: child };
}

async function stop(target: Target) {
  target.process.kill('SIGTERM');
  await once(target.process, 'exit');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number, digits = 1) => x.toFixed(digits);

const clock = new SystemClock();
console.log(
  `master scale: interval ${intervalMs} ms, ${rounds} rounds, ${measureMs / 1000} s measured per configuration, node ${process.version}`,
);
console.log(
  'slaves | checks/s | master CPU % of a core | CPU µs/check | CPU µs/datagram | RSS MB | leg hold p50/p99 µs | lost | echo CPU µs/datagram | ratio',
);
const roughtime = referenceCheck === undefined ? undefined : await startRoughtime();
const referenceLines: string[] = [];
for (const n of values.slaves.split(',').map(Number)) {
  const master = await startMaster();
  const ours = await load(master, n, (i) => saturnDriver(`sim-${i}`, clock));
  const status = (await (await fetch(master.statusUrl!)).json()) as {
    legHoldUs: { p50Us: number; p99Us: number };
    drops: object;
  };
  if (Object.keys(status.drops).length > 0) console.log(`master drops: ${JSON.stringify(status.drops)}`);
  await stop(master);
  const echo = await startEcho();
  const base = await load(echo, n, () => echoDriver());
  await stop(echo);
  const perDatagram = ours.cpuUs / ours.datagrams;
  const echoPerDatagram = base.cpuUs / base.datagrams;
  if (roughtime !== undefined) {
    const checked = await startMaster(['--roughtime-server', roughtime.spec, '--roughtime-interval', referenceCheck!]);
    const withReference = await load(checked, n, (i) => saturnDriver(`sim-${i}`, clock));
    const referenceStatus = (await (await fetch(checked.statusUrl!)).json()) as {
      legHoldUs: { p50Us: number; p99Us: number };
      reference: { state: string };
    };
    const checks = await referenceChecks(checked.statusUrl!);
    await stop(checked);
    referenceLines.push(
      `${n} slaves, reference check every ${referenceCheck}: ${checks} checks (state ${referenceStatus.reference.state}), ` +
        `${fmt((withReference.completed / withReference.elapsedMs) * 1000)} checks/s, lost ${withReference.lost}/${withReference.started}, ` +
        `leg hold p50/p99 ${referenceStatus.legHoldUs.p50Us}/${referenceStatus.legHoldUs.p99Us} µs ` +
        `(without: ${status.legHoldUs.p50Us}/${status.legHoldUs.p99Us} µs), p99 ratio ${fmt(referenceStatus.legHoldUs.p99Us / status.legHoldUs.p99Us, 2)}x`,
    );
  }
  console.log(
    [
      n,
      fmt((ours.completed / ours.elapsedMs) * 1000),
      fmt((ours.cpuUs / (ours.elapsedMs * 1000)) * 100),
      fmt(ours.cpuUs / ours.completed),
      fmt(perDatagram, 2),
      fmt(ours.rss / 2 ** 20),
      `${status.legHoldUs.p50Us}/${status.legHoldUs.p99Us}`,
      `${ours.lost}/${ours.started}`,
      fmt(echoPerDatagram, 2),
      `${fmt(perDatagram / echoPerDatagram, 2)}x`,
    ].join(' | '),
  );
}
for (const line of referenceLines) console.log(line);
if (roughtime !== undefined) {
  roughtime.process.kill('SIGTERM');
  await once(roughtime.process, 'exit');
}
