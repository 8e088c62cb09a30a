/**
 * bench/roughtime-throughput: the saturn Roughtime server (the real binary,
 * `saturn roughtime serve`) against a bare Node UDP echo baseline, in the same run, under the same
 * closed-loop load on 127.0.0.1. Per configuration (max batch × workers): replies/s, server CPU µs
 * per reply (user+sys of the server process and all its threads, from /proc/PID/stat), p50/p99
 * latency seen by the load generator, and the ratio of CPU per reply to the echo's.
 *
 * Two load shapes, each closed loop: `ours` (--threads × --sockets, each socket with --window
 * requests in flight, by default enough for two full batches) and `independent`, the shape of
 * an independent load generator: one thread, 2 sockets × 32 requests in flight (64 in all). A
 * config is `BATCHxWORKERS`, or `default` for the server's own defaults (no batching flags).
 *
 * `--go-server PATH` adds a `go-peer` row per load shape, measured between the echo and saturn under
 * the same load: PATH is started as `PATH --listen-addr 127.0.0.1:0` and must print
 * `listening on 127.0.0.1:PORT public key BASE64` (its root public key, which verifies a sample of its
 * replies as for saturn). bench/go-roughtime/build.sh builds the Go batching server on Cloudflare's
 * package that fits. Without the option that row is skipped, with a message.
 *
 *   npm run bench:roughtime -- [--duration 5] [--version 1|0x8000000b|google] [--configs default,1x1,64x1,256x1,1x2,64x2,256x2]
 *                              [--shapes ours,independent] [--threads 2] [--sockets 4] [--window 64] [--flush-ms 1]
 *                              [--go-server PATH]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseVersionLabel } from '../../src/roughtime/versions.js';
import type { LoadConfig, LoadResult } from './load.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const durationMs = Number(args.get('duration') ?? 5) * 1000;
const warmupMs = Number(args.get('warmup') ?? 1) * 1000;
const versionLabel = args.get('version') ?? '1';
const version = parseVersionLabel(versionLabel);
if (version === undefined) throw new RangeError(`unknown version ${versionLabel}`);
const versions: 'google' | number[] = version === 'google' ? 'google' : [version];
const threads = Number(args.get('threads') ?? 2);
const socketsPerThread = Number(args.get('sockets') ?? 4);
/** Requests in flight per socket; default: enough for two full batches in flight in all, at least 16. */
const windowOption = args.get('window');
const flushOption = args.get('flush-ms');
const configs = (args.get('configs') ?? 'default,1x1,64x1,256x1,1x2,64x2,256x2').split(',').map((c) => {
  if (c === 'default') return { name: 'default', flags: [] as string[], batch: 64 };
  const [batch, workers] = c.split('x').map(Number);
  return {
    name: c,
    flags: ['--max-batch', String(batch), '--workers', String(workers), '--flush', flushOption ?? '1'],
    batch: batch!,
  };
});
/** An external Roughtime server binary to measure next to saturn (see the header). */
const goServer = args.get('go-server');
if (goServer !== undefined) {
  try {
    accessSync(goServer, constants.X_OK);
  } catch {
    process.stderr.write(
      `--go-server ${goServer} is not an executable file (bench/go-roughtime/build.sh builds one)\n`,
    );
    process.exit(2);
  }
}
const shapes = (args.get('shapes') ?? 'ours,independent').split(',') as Array<'ours' | 'independent'>;

const SATURN_BIN = fileURLToPath(new URL('../../../bin/saturn', import.meta.url));
const ECHO = fileURLToPath(new URL('./echo-server.js', import.meta.url));
const LOAD = new URL('./load.js', import.meta.url);
const CLK_TCK = 100;

/** user+sys CPU of a process and all its threads, in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

function startChild(
  argv: string[],
  ready: RegExp,
  command = process.execPath,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.stderr!.resume();
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}) before it was ready: ${out}`)));
  });
}

interface Figures {
  readonly repliesPerSecond: number;
  readonly cpuUsPerReply: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly failures: number;
  readonly verified: number;
  readonly lost: number;
}

/** A load shape: threads × sockets per thread × requests in flight per socket. */
interface Shape {
  readonly threads: number;
  readonly sockets: number;
  readonly window: number;
}

async function measure(pid: number, port: number, publicKey: Uint8Array | undefined, shape: Shape): Promise<Figures> {
  const { threads } = shape;
  const config: Omit<LoadConfig, 'port'> = {
    durationMs,
    warmupMs,
    sockets: shape.sockets,
    window: shape.window,
    versions,
    publicKey,
    verifyEvery: 1000,
    timeoutMs: 500,
  };
  const workers = Array.from({ length: threads }, () => new Worker(LOAD, { workerData: { ...config, port } }));
  let cpuStart = 0;
  let cpuEnd = 0;
  const startTimer = setTimeout(() => (cpuStart = cpuMicros(pid)), warmupMs);
  const endTimer = setTimeout(() => (cpuEnd = cpuMicros(pid)), warmupMs + durationMs);
  const results = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<LoadResult>((resolve, reject) => {
          worker.on('message', (message: { kind: string; result?: LoadResult }) => {
            if (message.kind === 'done') resolve(message.result!);
          });
          worker.once('error', reject);
        }),
    ),
  );
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  if (cpuEnd === 0) cpuEnd = cpuMicros(pid);
  await Promise.all(workers.map((worker) => worker.terminate()));
  const replies = results.reduce((sum, r) => sum + r.replies, 0);
  const latencies = Float64Array.from(results.flatMap((r) => [...r.latenciesUs])).sort();
  const quantile = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    repliesPerSecond: replies / (durationMs / 1000),
    cpuUsPerReply: replies === 0 ? Infinity : (cpuEnd - cpuStart) / replies,
    p50Us: quantile(0.5),
    p99Us: quantile(0.99),
    failures: results.reduce((sum, r) => sum + r.failures, 0),
    verified: results.reduce((sum, r) => sum + r.verified, 0),
    lost: results.reduce((sum, r) => sum + r.lost, 0),
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const shapeFor = (shape: 'ours' | 'independent', batch: number): Shape =>
  shape === 'independent'
    ? { threads: 1, sockets: 2, window: 32 }
    : {
        threads,
        sockets: socketsPerThread,
        window:
          windowOption !== undefined
            ? Number(windowOption)
            : Math.max(16, Math.ceil((2 * batch) / (threads * socketsPerThread))),
      };
const fmt = (n: number, digits = 1): string => n.toFixed(digits);
const rows: string[] = [];
let lastLine = '';
let goLine = '';

/** Starts a server that prints `listening on 127.0.0.1:PORT public key BASE64`, measures it, stops it. */
async function measureServer(command: string, argv: string[], shape: Shape): Promise<Figures> {
  const server = await startChild(argv, /listening on 127\.0\.0\.1:(\d+) public key (\S+)/, command);
  try {
    return await measure(
      server.child.pid!,
      Number(server.match[1]),
      new Uint8Array(Buffer.from(server.match[2]!, 'base64')),
      shape,
    );
  } finally {
    await stop(server.child);
  }
}

/** Prints the row of `server` (`who`: saturn or the peer) against the echo measured just before it. */
function report(shapeName: string, name: string, who: string, server: Figures, echo: Figures): string {
  const ratio = server.cpuUsPerReply / echo.cpuUsPerReply;
  const row = `| ${shapeName} | ${name} | ${fmt(server.repliesPerSecond, 0)} | ${fmt(server.cpuUsPerReply)} | ${fmt(server.p50Us, 0)} | ${fmt(server.p99Us, 0)} | ${fmt(echo.repliesPerSecond, 0)} | ${fmt(echo.cpuUsPerReply)} | ${fmt(echo.p50Us, 0)}/${fmt(echo.p99Us, 0)} | ${fmt(ratio, 2)}x | ${server.verified} (${server.failures}) | ${server.lost} |`;
  rows.push(row);
  process.stdout.write(`${row}\n`);
  return `${shapeName} ${name}: ${who} ${fmt(server.repliesPerSecond, 0)}/s ${fmt(server.cpuUsPerReply)} µs/reply; echo ${fmt(echo.repliesPerSecond, 0)}/s ${fmt(echo.cpuUsPerReply)} µs/reply; ratio ${fmt(ratio, 2)}x`;
}

process.stdout.write(
  `# roughtime-throughput: version ${versionLabel}, ${durationMs / 1000} s per run after ${warmupMs / 1000} s warm-up; load 'ours' ${threads} threads × ${socketsPerThread} sockets × window ${windowOption ?? 'max(16, 2 batches)'} per socket, 'independent' 1 thread × 2 sockets × 32\n`,
);
process.stdout.write(
  goServer === undefined
    ? '# no --go-server PATH: the go-peer rows are skipped (bench/go-roughtime/build.sh builds one)\n'
    : `# go-peer rows: ${goServer} (a peer server, not saturn) in the saturn columns, against the echo measured just before it\n`,
);
process.stdout.write(
  '| load | config | saturn replies/s | saturn CPU µs/reply | p50 µs | p99 µs | echo replies/s | echo CPU µs/reply | echo p50/p99 µs | CPU ratio | verified (failed) | lost |\n',
);
process.stdout.write('|---|---|---|---|---|---|---|---|---|---|---|---|\n');
for (const shapeName of shapes)
  for (const [index, { name, flags, batch }] of configs.entries()) {
    const shape = shapeFor(shapeName, batch);
    const echo = await startChild([ECHO], /echo listening on 127\.0\.0\.1:(\d+)/);
    let echoFigures: Figures;
    try {
      echoFigures = await measure(echo.child.pid!, Number(echo.match[1]), undefined, shape);
    } finally {
      await stop(echo.child);
    }
    if (goServer !== undefined && index === 0) {
      const go = await measureServer(goServer, ['--listen-addr', '127.0.0.1:0'], shape);
      // A peer that answers nothing does not speak this version (Cloudflare's package: draft 11 and older).
      if (go.repliesPerSecond === 0)
        process.stdout.write(
          `# ${shapeName} go-peer: no reply to version ${versionLabel} (not a version it speaks): no row\n`,
        );
      else goLine = `; ${report(shapeName, 'go-peer', 'go', go, echoFigures)}`;
    }
    const saturn = await measureServer(
      process.execPath,
      [SATURN_BIN, 'roughtime', 'serve', '--listen-addr', '127.0.0.1:0', ...flags, '--log-level', 'warn'],
      shape,
    );
    lastLine = report(shapeName, name, 'saturn', saturn, echoFigures);
  }
process.stdout.write(`${lastLine}${goLine}\n`);
