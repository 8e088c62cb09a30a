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
 *                          [--peers 3] [--mesh-baseline] [--reference-check 1s] [--scrape 15s]
 *
 * The simulated slaves run the mesh as a default slave does (`--peers 3`): leg 0 of each check
 * reports three fresh peer results (about the next three slaves) and is padded to leave room for
 * the peers the master names in its Result; the master runs at its defaults (the consensus each
 * sweep). With `--peers 0` both sides run without it. `--mesh-baseline` measures each N once more
 * with the mesh off on both sides, and a last line gives what the mesh adds per check.
 *
 * With --reference-check, each N is measured once more with the master also checking its clock
 * against a local `saturn roughtime serve` that often (its requests and answers through the
 * pipeline, verified on a worker), and a last line compares the leg hold with and without.
 *
 * With --scrape, /metrics is fetched that often in the measured window, as a Prometheus server
 * would; a line per run says how long a scrape took, its size and the master's CPU meanwhile.
 *
 * Mass drift (`--drift`): the master runs with a durable state dir (`--state-root`, default the
 * system's temporary directory: a real disk, so fsync costs what it costs) and a webhook to a local
 * receiver; after the warm-up every slave's clock jumps 1 s ahead, so each slave's next check
 * raises a drift event: N events within one interval, as after a step of the master's own clock.
 * With `--together`, all slaves also start that check at the same moment: N events in a burst
 * (the load generator itself then runs at its limit; its echo run shows how much).
 * Figures: the master's leg hold (p99 and max, from /status), the leg round trip the slaves see
 * (p99 and max: it also holds any time a leg waited in the socket buffer while the master's main
 * thread was busy, which the master's own hold cannot see), how late the master's event loop ran
 * (lib/loop-delay.ts, preloaded into it: the main thread's blocking itself), lost checks, and how
 * long until every drift event was printed and delivered. `--master-bin LABEL=PATH` (repeatable) runs the same load
 * against several builds of the master in one run, interleaved, e.g. before and after a change:
 *
 *   npm run bench:scale -- --drift --slaves 1000 --master-bin before=/tmp/saturn-before/bin/saturn --master-bin after=bin/saturn
 *
 * `--go-master PATH` (scale runs only) measures the original Go saturn master (levenlabs/saturn,
 * built by bench/go-master/build.sh) in the same run: for each N, after saturn's master and the
 * echo, N simulated slaves of the original's protocol (bench/go-master/slave.ts: slave-initiated,
 * rounds + 1 round trips a check, every answer's HMAC verified) play the same pattern against it,
 * run with `--rounds` as saturn's and `--log-level info` (one line per check, as saturn's master
 * prints one; the original's default, warn, prints none). A `go-original` row gives its figures
 * against the echo just measured (no leg hold: it reports none), and last lines give each build's
 * CPU per check and RSS over the Go master's, and how many checks the Go master itself logged
 * against the Fins the slaves verified. Without it, the Go rows are skipped with a message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/util/parse.js';
import { SystemClock } from '../src/clock/system-clock.js';
import { DurationHistogram } from '../src/pipeline/stats.js';
import { CheckInitiator } from '../src/protocol/initiator.js';
import { Envelope } from '../src/wire/envelope.js';
import { KeyRing } from '../src/wire/keys.js';
import { type PeerResult, REPORT_MIN_BYTES } from '../src/wire/messages.js';
import { PEER_ROOM_BYTES } from '../src/service/slave-service.js';
import { cpuMicros, rssBytes } from './lib/proc-usage.js';
import { type GoSlaveStats, goSlaveDriver } from './go-master/slave.js';

const KEY = 'bench-master-scale-key-0123456789';
const BIN = fileURLToPath(new URL('../../bin/saturn', import.meta.url));
const ECHO = fileURLToPath(new URL('./lib/echo-server.js', import.meta.url));
const LOOP_DELAY = new URL('./lib/loop-delay.js', import.meta.url).href;

const { values } = parseArgs({
  options: {
    slaves: { type: 'string', default: '100,1000,10000' },
    interval: { type: 'string', default: '10s' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '20' },
    drift: { type: 'boolean', default: false },
    together: { type: 'boolean', default: false },
    'state-root': { type: 'string', default: tmpdir() },
    'master-bin': { type: 'string', multiple: true, default: [`this=${BIN}`] },
    'reference-check': { type: 'string' },
    peers: { type: 'string', default: '3' },
    'mesh-baseline': { type: 'boolean', default: false },
    scrape: { type: 'string' },
    'go-master': { type: 'string' },
  },
});
const intervalMs = parseDuration(values.interval, '--interval', 's') / 1e6;
const scrapeEveryMs = values.scrape === undefined ? undefined : parseDuration(values.scrape, '--scrape', 's') / 1e6;
const rounds = Number(values.rounds);
const measureMs = Number(values.seconds) * 1000;
/**
 * Checks run back to back before the load starts, spread over the slaves (none at N >= this, where
 * the first interval's N checks are already as many): V8 compiles a function after enough calls.
 */
const WARM_CHECKS = 5000;
const peers = Number(values.peers);
/** The original Go master's binary (see the header), checked before anything runs. */
const goMaster = values['go-master'] === undefined ? undefined : resolve(values['go-master']);
if (goMaster !== undefined) {
  try {
    accessSync(goMaster, constants.X_OK);
  } catch {
    process.stderr.write(`--go-master ${goMaster} is not an executable file (bench/go-master/build.sh builds one)\n`);
    process.exit(2);
  }
}

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

/**
 * A slave's check driver; `clockOf()` is read at the start of each check (the drift swaps the clock).
 * With `peerIds`, leg 0 reports one fresh result about each (within ±50 µs, as an honest fleet on
 * one host measures) and is padded as a slave with that many peers pads it.
 */
function saturnDriver(name: string, clockOf: () => SystemClock, peerIds: readonly string[] = []): Driver {
  const core = new CheckInitiator({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode(KEY))),
    nodeId: name,
  });
  const options =
    peerIds.length === 0
      ? {}
      : {
          padToBytes: REPORT_MIN_BYTES + PEER_ROOM_BYTES * peerIds.length,
          peerResults: peerIds.map((peerId): PeerResult => ({
            peerId,
            offsetNs: Math.round((Math.random() - 0.5) * 100e3),
            errorNs: 200e3,
            rttNs: 60e3,
            ageNs: 1e9,
          })),
        };
  let clock = clockOf();
  return {
    begin: () => {
      clock = clockOf();
      return core.start('master', clock.stepCount, options).outgoing.build(clock.read());
    },
    next: (reply) => {
      const outcome = core.handle(reply, clock.read(), clock.stepCount);
      if (outcome.kind === 'reply') return outcome.reply.build(clock.read());
      if (outcome.kind === 'result') return 'done';
      return undefined;
    },
  };
}

/** The simulated slave i's driver, its mesh as `meshPeers` says (its peers: the next slaves round the ring). */
function simSlave(i: number, n: number, meshPeers: number, clockOf: () => SystemClock = () => clock): Driver {
  const count = Math.min(meshPeers, n - 1);
  const peerIds = Array.from({ length: count }, (_, k) => `sim-${(i + 1 + k) % n}`);
  return saturnDriver(`sim-${i}`, clockOf, peerIds);
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
  /** Each leg's round trip as the slaves saw it (send to reply), during the measurement window, ns. */
  legRtt: DurationHistogram;
}

/**
 * Runs `n` slaves against the target for the measurement window (after back-to-back warm-up checks
 * and one interval of the load, uncounted).
 * `atWindowStart` runs when the window opens; with `restartAll`, every slave then starts a check
 * at once and keeps its interval from there.
 */
async function load(
  target: Target,
  n: number,
  makeDriver: (i: number) => Driver,
  options: { atWindowStart?: () => void; restartAll?: boolean } = {},
): Promise<LoadResult> {
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const restarts: (() => void)[] = [];
  const legRtt = new DurationHistogram();
  let measuring = false;
  let completed = 0;
  let started = 0;
  let lost = 0;
  let datagrams = 0;
  const warmups: (() => Promise<void>)[] = [];
  const warmChecksPerSlave = n >= WARM_CHECKS ? 0 : Math.ceil(WARM_CHECKS / n);
  for (let i = 0; i < n; i++) {
    const driver = makeDriver(i);
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    sockets.push(socket);
    let open = false;
    let counted = false;
    let sentAt = 0;
    let deadline: NodeJS.Timeout | undefined;
    let interval: NodeJS.Timeout | undefined;
    const send = (datagram: Uint8Array) => {
      sentAt = performance.now();
      socket.send(datagram, target.port, '127.0.0.1');
    };
    socket.on('message', (reply) => {
      if (!open) return;
      if (counted) {
        datagrams++;
        legRtt.record((performance.now() - sentAt) * 1e6);
      }
      const next = driver.next(reply);
      if (next === 'done') {
        open = false;
        clearTimeout(deadline);
        if (counted) completed++;
      } else if (next) {
        if (counted) datagrams++;
        send(next);
      }
    });
    warmups.push(async () => {
      for (let k = 0; k < warmChecksPerSlave; k++) {
        const done = new Promise<void>((resolve) => {
          const onReply = (reply: Buffer) => {
            const next = driver.next(reply);
            if (next === 'done') finish();
            else if (next) socket.send(next, target.port, '127.0.0.1');
          };
          const finish = () => {
            clearTimeout(giveUp);
            socket.off('message', onReply);
            resolve();
          };
          const giveUp = setTimeout(finish, 2000);
          socket.on('message', onReply);
        });
        socket.send(driver.begin(), target.port, '127.0.0.1');
        await done;
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
      send(driver.begin());
    };
    const every = () => {
      clearInterval(interval);
      check();
      interval = setInterval(check, intervalMs);
      timers.push(interval);
    };
    restarts.push(every);
  }
  // The JIT warms by calls, not by time: a master at 100 slaves makes 100 checks an interval, far from
  // the steady state of a master that has run for hours. Back-to-back checks first, then the load.
  await Promise.all(warmups.map((warm) => warm()));
  for (const restart of restarts) {
    // Staggered: slave i starts at a random point of the first interval, then every interval.
    timers.push(setTimeout(restart, Math.random() * intervalMs));
  }
  await sleep(intervalMs + 500); // every slave has run one (uncounted) check: JIT warm, tables full
  measuring = true;
  const cpuBefore = cpuMicros(target.pid);
  const t0 = performance.now();
  options.atWindowStart?.();
  if (options.restartAll) for (const restart of restarts) restart();
  await sleep(measureMs);
  measuring = false;
  const cpuUs = cpuMicros(target.pid) - cpuBefore;
  const elapsedMs = performance.now() - t0;
  await sleep(2100); // checks begun in the window finish (or time out as lost)
  const rss = rssBytes(target.pid);
  for (const t of timers) clearTimeout(t);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return { completed, started, lost, datagrams, cpuUs, rss, elapsedMs, legRtt };
}

/** Master process plus what it printed: the wall time (performance.now()) of each drift event line. */
interface MasterTarget extends Target {
  driftLinesAt: number[];
  /** With the loop-delay probe: its figures, once the master has exited. */
  loopDelay?: { p50Us: number; p99Us: number; maxUs: number };
}

async function startMaster(bin = BIN, extraArgs: string[] = [], nodeFlags: string[] = []): Promise<MasterTarget> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.MASTER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      ...nodeFlags,
      bin,
      '--listen-addr',
      '127.0.0.1:0',
      '--metrics-addr',
      '127.0.0.1:0',
      '--hmac-key',
      KEY,
      '--rounds',
      String(rounds),
      // Every simulated slave checks from 127.0.0.1: one source, as a whole fleet behind one NAT address.
      '--source-check-rate',
      '1000000',
      '--log-format',
      'json',
      '--log-level',
      'info',
      ...extraArgs,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The per-check INFO lines are written, as in production, and discarded here; drift lines are timed.
  const driftLinesAt: number[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.includes('event="drift"')) driftLinesAt.push(performance.now());
  });
  let port = 0;
  let statusUrl: string | undefined;
  let buffer = '';
  const target: MasterTarget = { port: 0, pid: child.pid!, process: child, driftLinesAt };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('master exited')));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { msg: string; addr?: string; url?: string } & MasterTarget['loopDelay'];
        if (record.msg === 'master listening') port = Number(record.addr!.split(':').pop());
        if (record.msg === 'http listening') statusUrl = record.url;
        if (record.msg === 'bench event loop delay') target.loopDelay = record;
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (port && statusUrl) resolve();
    });
  });
  return Object.assign(target, { port, statusUrl });
}

/** A webhook receiver that accepts everything (204) and notes when each distinct event arrived. */
async function startReceiver(): Promise<{ url: string; server: Server; arrivedAt: Map<string, number> }> {
  const arrivedAt = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      const key = String(req.headers['idempotency-key']);
      if (!arrivedAt.has(key)) arrivedAt.set(key, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server, arrivedAt };
}

async function startEcho(): Promise<Target> {
  const child = spawn(process.execPath, [ECHO, '110'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(chunk.toString().trim()), pid: child.pid!, process: child };
}

async function stop(target: Target) {
  target.process.kill('SIGTERM');
  await once(target.process, 'close'); // after 'exit', once its output is read to the end
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number, digits = 1) => x.toFixed(digits);

/** The original Go master and what it printed: one `slave offset` line per check it finished. */
interface GoMasterTarget extends Target {
  offsetLines: number;
  /** Its WARN and ERROR lines (a bad signature, a wrong sequence number), the first few kept. */
  complaints: number;
  firstComplaints: string[];
}

/** A UDP port free on 127.0.0.1 a moment ago (the original prints its configured address, not the bound one). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = socket.address().port;
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

/** The simulated slave i of the original's protocol, counting into `stats`. */
function goSlave(i: number, stats: GoSlaveStats) {
  const name = `sim-${i}`;
  return goSlaveDriver({ key: new TextEncoder().encode(KEY), name, idPrefix: name, now: () => clock.now(), stats });
}

/**
 * Runs one check against a just-started Go master (its first InitialReport resent every 250 ms
 * until answered): it then listens and answers as the simulated slaves expect; throws otherwise.
 * Counts into `stats` with the slaves' checks (the master logs this check too).
 */
async function probeGoMaster(port: number, stats: GoSlaveStats): Promise<void> {
  const driver = goSlave(-1, stats);
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  try {
    await new Promise<void>((resolve, reject) => {
      let answered = false;
      const resend = setInterval(() => answered || socket.send(driver.begin(), port, '127.0.0.1'), 250);
      const giveUp = setTimeout(
        () => finish(new Error(`the Go master did not finish a check in 5 s (${JSON.stringify(stats)})`)),
        5000,
      );
      const finish = (error?: Error) => {
        clearInterval(resend);
        clearTimeout(giveUp);
        if (error) reject(error);
        else resolve();
      };
      socket.on('message', (reply) => {
        const next = driver.next(reply);
        if (next === undefined) return;
        answered = true;
        if (next === 'done')
          finish(stats.finErrors > 0 ? new Error('the Go master answered a Fin with an error') : undefined);
        else socket.send(next, port, '127.0.0.1');
      });
      socket.send(driver.begin(), port, '127.0.0.1');
    });
  } finally {
    await new Promise<void>((r) => socket.close(() => r()));
  }
}

async function startGoMaster(bin: string, stats: GoSlaveStats): Promise<GoMasterTarget> {
  const port = await freeUdpPort();
  const child = spawn(
    bin,
    ['--listen-addr', `127.0.0.1:${port}`, '--hmac-key', KEY, '--rounds', String(rounds), '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const target: GoMasterTarget = {
    port,
    pid: child.pid!,
    process: child,
    offsetLines: 0,
    complaints: 0,
    firstComplaints: [],
  };
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.includes(' -- slave offset -- ')) target.offsetLines++;
      else if (/^~ (WARN|ERROR|FATAL) /.test(line)) {
        target.complaints++;
        if (target.firstComplaints.length < 3) target.firstComplaints.push(line);
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(() => {
    throw new Error(`the Go master exited: ${stderr.trim() || target.firstComplaints.join(' / ')}`);
  });
  exited.catch(() => {}); // after the probe, its stop is an ordinary exit
  try {
    await Promise.race([probeGoMaster(port, stats), exited]);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return target;
}

/** The original Go master under the same load as saturn's; with what it and its slaves counted. */
async function measureGoMaster(bin: string, n: number) {
  const stats: GoSlaveStats = { fins: 0, finErrors: 0, rejected: 0 };
  const master = await startGoMaster(bin, stats);
  const result = await load(master, n, (i) => goSlave(i, stats));
  await stop(master);
  return { result, stats, master };
}

const clock = new SystemClock();
const builds = values['master-bin'].map((spec) => {
  const at = spec.indexOf('=');
  return at < 0 ? { label: spec, bin: resolve(spec) } : { label: spec.slice(0, at), bin: resolve(spec.slice(at + 1)) };
});

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

/**
 * With --reference-check: the same load once more, the master also checking its clock against a
 * local `saturn roughtime serve` that often; one line compares the leg hold with and without.
 */
async function referenceLine(
  build: { label: string; bin: string },
  n: number,
  spec: string,
  without: { p50Us: number; p99Us: number },
): Promise<string> {
  const referenceCheck = values['reference-check']!;
  const checked = await startMaster(build.bin, [
    '--peers',
    String(peers),
    '--roughtime-server',
    spec,
    '--roughtime-interval',
    referenceCheck,
  ]);
  const withReference = await load(checked, n, (i) => simSlave(i, n, peers));
  const status = (await (await fetch(checked.statusUrl!)).json()) as {
    legHoldUs: { p50Us: number; p99Us: number };
    reference: { state: string };
  };
  const checks = await referenceChecks(checked.statusUrl!);
  await stop(checked);
  return (
    `${build.label} | ${n} slaves, reference check every ${referenceCheck}: ${checks} checks (state ${status.reference.state}), ` +
    `${fmt((withReference.completed / withReference.elapsedMs) * 1000)} checks/s, lost ${withReference.lost}/${withReference.started}, ` +
    `leg hold p50/p99 ${status.legHoldUs.p50Us}/${status.legHoldUs.p99Us} µs (without: ${without.p50Us}/${without.p99Us} µs), ` +
    `p99 ratio ${fmt(status.legHoldUs.p99Us / without.p99Us, 2)}x`
  );
}

/** One master at `--peers meshPeers`, its slaves reporting as many peer results; with its /status. */
async function measureMaster(bin: string, n: number, meshPeers: number) {
  const master = await startMaster(bin, ['--peers', String(meshPeers)]);
  const scraper = scrapeEveryMs === undefined ? undefined : new Scraper(master, scrapeEveryMs);
  const result = await load(master, n, (i) => simSlave(i, n, meshPeers), { atWindowStart: () => scraper?.start() });
  if (scraper) console.log(await scraper.stop());
  const status = (await (await fetch(master.statusUrl!)).json()) as {
    legHoldUs: { p50Us: number; p99Us: number };
    drops: object;
    mesh?: { agree: number; of: number };
  };
  if (Object.keys(status.drops).length > 0) console.log(`master drops: ${JSON.stringify(status.drops)}`);
  if (meshPeers > 0) console.log(`(mesh vote at the end: ${status.mesh?.agree} of ${status.mesh?.of} agree)`);
  await stop(master);
  return { result, status };
}

/**
 * With --scrape: /metrics fetched that often during the measured window, as Prometheus would (one
 * scrape at a time). Its CPU is part of the master's figures; the line says what one scrape took.
 */
class Scraper {
  readonly #wallMs: number[] = [];
  readonly #cpuMs: number[] = [];
  #bytes = 0;
  #series = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly master: MasterTarget,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.#scrape());
    }, this.everyMs);
  }

  async #scrape(): Promise<void> {
    const cpu0 = cpuMicros(this.master.pid);
    const t0 = performance.now();
    const text = await (await fetch(this.master.statusUrl!.replace(/\/status$/, '/metrics'))).text();
    this.#wallMs.push(performance.now() - t0);
    this.#cpuMs.push((cpuMicros(this.master.pid) - cpu0) / 1000);
    this.#bytes = text.length;
    this.#series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  }

  async stop(): Promise<string> {
    clearInterval(this.#timer);
    await this.#running;
    if (this.#wallMs.length === 0)
      return `no scrape of /metrics: the window is shorter than --scrape ${this.everyMs} ms`;
    const max = (xs: number[]) => fmt(Math.max(...xs));
    const median = (xs: number[]) => fmt([...xs].sort((a, b) => a - b)[xs.length >> 1]!);
    return (
      `scrapes of /metrics every ${this.everyMs} ms: ${this.#wallMs.length}, ${this.#series} series, ${fmt(this.#bytes / 2 ** 20, 1)} MB; ` +
      `wall ms median ${median(this.#wallMs)} max ${max(this.#wallMs)}; master CPU ms while scraping (checks included) median ${median(this.#cpuMs)} max ${max(this.#cpuMs)}`
    );
  }
}

/** With --mesh-baseline: the same load with the mesh off on both sides; what the mesh adds per check. */
async function meshLine(build: { label: string; bin: string }, n: number, withMesh: LoadResult): Promise<string> {
  const { result: without } = await measureMaster(build.bin, n, 0);
  const perCheck = (r: LoadResult) => r.cpuUs / r.completed;
  return (
    `${build.label} | ${n} slaves, mesh --peers ${peers} vs 0: CPU µs/check ${fmt(perCheck(withMesh))} vs ${fmt(perCheck(without))} ` +
    `(+${fmt(perCheck(withMesh) - perCheck(without))} µs, ${fmt(perCheck(withMesh) / perCheck(without), 2)}x), ` +
    `RSS MB ${fmt(withMesh.rss / 2 ** 20)} vs ${fmt(without.rss / 2 ** 20)}, lost ${withMesh.lost}/${withMesh.started} vs ${without.lost}/${without.started}`
  );
}

/**
 * The original Go master at N: prints its row (against the echo measured just before it) and
 * returns the lines for the end: what it logged against what the slaves verified, and each build's
 * CPU per check and RSS over its.
 */
async function goMasterRow(
  bin: string,
  n: number,
  echo: LoadResult,
  builds: { label: string; result: LoadResult }[],
): Promise<string[]> {
  const { result: go, stats, master } = await measureGoMaster(bin, n);
  const perDatagram = go.cpuUs / go.datagrams;
  const echoPerDatagram = echo.cpuUs / echo.datagrams;
  console.log(
    [
      'go-original',
      n,
      fmt((go.completed / go.elapsedMs) * 1000),
      fmt((go.cpuUs / (go.elapsedMs * 1000)) * 100),
      fmt(go.cpuUs / go.completed),
      fmt(perDatagram, 2),
      fmt(go.rss / 2 ** 20),
      '-',
      `${go.lost}/${go.started}`,
      `${echo.lost}/${echo.started}`,
      fmt(echoPerDatagram, 2),
      `${fmt(perDatagram / echoPerDatagram, 2)}x`,
    ].join(' | '),
  );
  const goPerCheck = go.cpuUs / go.completed;
  return [
    `go-original | ${n} slaves: ${master.offsetLines} checks logged by the Go master ("slave offset"), ` +
      `${stats.fins} Fins verified by the slaves over the whole run (${stats.finErrors} with an error; a check still in ` +
      `flight when the slaves stop is logged, its Fin unread), ${stats.rejected} answers rejected, ` +
      `${master.complaints} WARN/ERROR lines${master.firstComplaints.length > 0 ? ` (first: ${master.firstComplaints.join(' / ')})` : ''}`,
    ...builds.map(
      ({ label, result }) =>
        `${label} | ${n} slaves vs the Go original: CPU µs/check ${fmt(result.cpuUs / result.completed)} vs ${fmt(goPerCheck)} ` +
        `(${fmt(result.cpuUs / result.completed / goPerCheck, 2)}x), RSS MB ${fmt(result.rss / 2 ** 20)} vs ${fmt(go.rss / 2 ** 20)} ` +
        `(${fmt(result.rss / go.rss, 2)}x), lost ${result.lost}/${result.started} vs ${go.lost}/${go.started}`,
    ),
  ];
}

/** Load-only figures: the master against the echo baseline. */
async function runScale() {
  const roughtime = values['reference-check'] === undefined ? undefined : await startRoughtime();
  const referenceLines: string[] = [];
  const meshLines: string[] = [];
  console.log(
    'build | slaves | checks/s | master CPU % of a core | CPU µs/check | CPU µs/datagram | RSS MB | leg hold p50/p99 µs | lost | echo lost | echo CPU µs/datagram | ratio',
  );
  const goLines: string[] = [];
  if (goMaster === undefined)
    console.log('# no --go-master PATH: the go-original rows are skipped (bench/go-master/build.sh builds one)');
  else
    console.log(`# go-original rows: ${goMaster} (the original Go master), against the echo measured just before it`);
  for (const n of values.slaves.split(',').map(Number)) {
    const measured: { label: string; result: LoadResult }[] = [];
    let lastEcho: LoadResult | undefined;
    for (const build of builds) {
      const { result: ours, status } = await measureMaster(build.bin, n, peers);
      const echo = await startEcho();
      const base = await load(echo, n, () => echoDriver());
      await stop(echo);
      measured.push({ label: build.label, result: ours });
      lastEcho = base;
      const perDatagram = ours.cpuUs / ours.datagrams;
      const echoPerDatagram = base.cpuUs / base.datagrams;
      console.log(
        [
          build.label,
          n,
          fmt((ours.completed / ours.elapsedMs) * 1000),
          fmt((ours.cpuUs / (ours.elapsedMs * 1000)) * 100),
          fmt(ours.cpuUs / ours.completed),
          fmt(perDatagram, 2),
          fmt(ours.rss / 2 ** 20),
          `${status.legHoldUs.p50Us}/${status.legHoldUs.p99Us}`,
          `${ours.lost}/${ours.started}`,
          `${base.lost}/${base.started}`,
          fmt(echoPerDatagram, 2),
          `${fmt(perDatagram / echoPerDatagram, 2)}x`,
        ].join(' | '),
      );
      if (roughtime !== undefined) referenceLines.push(await referenceLine(build, n, roughtime.spec, status.legHoldUs));
      if (values['mesh-baseline'] && peers > 0) meshLines.push(await meshLine(build, n, ours));
    }
    if (goMaster !== undefined && lastEcho !== undefined)
      goLines.push(...(await goMasterRow(goMaster, n, lastEcho, measured)));
  }
  for (const line of [...meshLines, ...referenceLines, ...goLines]) console.log(line);
  if (roughtime !== undefined) await stop({ port: 0, pid: roughtime.process.pid!, process: roughtime.process });
}

/** Every slave drifts at once: N drift events in a burst, with a durable state dir and a webhook. */
async function runDrift() {
  const us = (ns: number) => fmt(ns / 1e3, 0);
  console.log(
    `mass drift: every slave's clock jumps +1 s${values.together ? ' and all start a check at once' : ''}; state dirs under ${values['state-root']}`,
  );
  console.log(
    'build | slaves | drift events printed | all printed after ms | delivered | all delivered after ms | master leg hold p99/max µs | master event loop delay p99/max µs | slave-seen leg RTT p50/p99/max µs | lost | echo leg RTT p50/p99/max µs | echo lost',
  );
  const shifted = new SystemClock({ offsetNs: 1e9 });
  for (const n of values.slaves.split(',').map(Number)) {
    for (const build of builds) {
      const stateDir = mkdtempSync(join(values['state-root'], 'saturn-bench-state-'));
      const receiver = await startReceiver();
      const master = await startMaster(
        build.bin,
        ['--peers', String(peers), '--state-dir', stateDir, '--webhook-url', receiver.url],
        ['--import', LOOP_DELAY],
      );
      let drifted = false;
      let burstAt = 0;
      const ours = await load(master, n, (i) => simSlave(i, n, peers, () => (drifted ? shifted : clock)), {
        atWindowStart: () => {
          master.process.kill('SIGUSR2'); // the loop-delay probe measures the window only
          drifted = true;
          burstAt = performance.now();
        },
        restartAll: values.together,
      });
      const status = (await (await fetch(master.statusUrl!)).json()) as {
        legHoldUs: { p99Us: number; maxUs: number };
      };
      // Deliveries may trail the window: give them up to a minute before the master stops.
      for (let waited = 0; receiver.arrivedAt.size < master.driftLinesAt.length && waited < 60_000; waited += 100)
        await sleep(100);
      await stop(master);
      await new Promise((r) => receiver.server.close(r));
      rmSync(stateDir, { recursive: true, force: true });
      // The same burst pattern against the echo: the floor of a leg's round trip here.
      const echo = await startEcho();
      const base = await load(echo, n, () => echoDriver(), { restartAll: values.together });
      await stop(echo);
      const lastPrinted = master.driftLinesAt.length === 0 ? NaN : Math.max(...master.driftLinesAt) - burstAt;
      const arrivals = [...receiver.arrivedAt.values()];
      const lastDelivered = arrivals.length === 0 ? NaN : Math.max(...arrivals) - burstAt;
      console.log(
        [
          build.label,
          n,
          master.driftLinesAt.length,
          fmt(lastPrinted, 0),
          receiver.arrivedAt.size,
          fmt(lastDelivered, 0),
          `${status.legHoldUs.p99Us}/${status.legHoldUs.maxUs}`,
          `${master.loopDelay?.p99Us ?? '?'}/${master.loopDelay?.maxUs ?? '?'}`,
          `${us(ours.legRtt.quantileNs(0.5))}/${us(ours.legRtt.quantileNs(0.99))}/${us(ours.legRtt.maxNs)}`,
          `${ours.lost}/${ours.started}`,
          `${us(base.legRtt.quantileNs(0.5))}/${us(base.legRtt.quantileNs(0.99))}/${us(base.legRtt.maxNs)}`,
          `${base.lost}/${base.started}`,
        ].join(' | '),
      );
    }
  }
}

console.log(
  `master scale: interval ${intervalMs} ms, ${rounds} rounds, ${measureMs / 1000} s measured per configuration, node ${process.version}`,
);
if (values.drift) {
  if (goMaster !== undefined) console.log('# --go-master is measured in scale runs only, not with --drift');
  await runDrift();
} else await runScale();
