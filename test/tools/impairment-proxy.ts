/**
 * A UDP impairment proxy for tests and benches: it sits between clients (slaves) and one
 * upstream server (the master) and, per direction, delays datagrams by a chosen distribution
 * (constant, uniform, exponential jitter, occasional spikes), drops, duplicates and reorders
 * them. Every random decision comes from a seeded generator per direction, so a run repeats.
 *
 * Directions: `forward` is client -> upstream (slave -> master), `back` is upstream -> client.
 * Each client address gets its own upstream socket, so replies find their way back and the
 * server sees one distinct source per client, as through a NAT.
 *
 * Delivery is scheduled against the monotonic clock: a timer gets close, the last ~1.5 ms are
 * polled with setImmediate, so delays are accurate to tens of µs rather than setTimeout's ms.
 *
 * Command line (prints `{"msg":"proxy listening","addr":"127.0.0.1:PORT"}` on stdout, its
 * counters as `{"msg":"proxy stats",...}` on SIGTERM/SIGINT):
 *   node dist/test/tools/impairment-proxy.js --listen 127.0.0.1:0 --upstream 127.0.0.1:4123 \
 *     --seed 1 --delay exp:1ms --fwd-delay 5ms --loss 5% --reorder 5%:3ms --dup 1% --spike 2%:200ms
 * `--delay`, `--loss`, `--dup`, `--reorder`, `--spike` set both directions; `--fwd-*`/`--back-*` one.
 */
import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { parseHostPort } from '../../src/util/parse.js';

/** One term of a delay distribution, in nanoseconds. */
export type DelayTerm =
  { kind: 'const'; ns: number } | { kind: 'uniform'; loNs: number; hiNs: number } | { kind: 'exp'; meanNs: number };

/** The impairments of one direction. Probabilities are in [0, 1]. */
export interface DirectionImpairment {
  /** Summed terms; empty: no delay. */
  delay: DelayTerm[];
  /** Share of datagrams dropped. */
  loss: number;
  /** Share of datagrams sent twice (the copy takes its own delay). */
  duplicate: number;
  /** Share of datagrams held back by `reorderNs` extra, so later ones overtake them. */
  reorder: number;
  reorderNs: number;
  /** Share of datagrams delayed by `spikeNs` extra (a congested moment). */
  spike: number;
  spikeNs: number;
}

export interface ImpairmentProxyOptions {
  /** Where clients send; port 0 picks a free one. Default 127.0.0.1:0. */
  listen?: { host: string; port: number };
  upstream: { host: string; port: number };
  /** Seed of the per-direction generators (default 1). */
  seed?: number;
  forward?: Partial<DirectionImpairment>;
  back?: Partial<DirectionImpairment>;
}

/** Counters of one direction. */
export interface DirectionStats {
  received: number;
  sent: number;
  lost: number;
  duplicated: number;
  reordered: number;
  spiked: number;
  /** Mean and largest lateness of a delayed send behind its due time, in ns (scheduling accuracy). */
  meanLateNs: number;
  maxLateNs: number;
}

export const NO_IMPAIRMENT: DirectionImpairment = {
  delay: [],
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderNs: 0,
  spike: 0,
  spikeNs: 0,
};

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws one delay in ns from the summed terms. */
export function drawDelayNs(terms: readonly DelayTerm[], random: () => number): number {
  let ns = 0;
  for (const term of terms) {
    if (term.kind === 'const') ns += term.ns;
    else if (term.kind === 'uniform') ns += term.loNs + random() * (term.hiNs - term.loNs);
    else ns += -term.meanNs * Math.log(1 - random()); // 1 − u is in (0, 1]: never log(0)
  }
  return ns;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/** Parses `250us`, `1.5ms`, `2s`, `0` into ns. */
export function parseDurationNs(text: string): number {
  const m = /^\s*(\d+\.?\d*|\.\d+)\s*(ns|us|µs|ms|s)?\s*$/.exec(text);
  if (!m || (m[2] === undefined && Number(m[1]) !== 0)) {
    throw new RangeError(`expected a duration such as 250us, 1.5ms or 2s, got "${text}"`);
  }
  return Number(m[1]) * UNIT_NS[m[2] ?? 'ns']!;
}

/**
 * Parses a delay distribution: terms joined by `+`, each `5ms` or `const:5ms` (constant),
 * `uniform:1ms:3ms`, or `exp:2ms` (exponential with that mean). `1ms+exp:2ms` is a base plus jitter.
 */
export function parseDelay(text: string): DelayTerm[] {
  if (text.trim() === '' || text.trim() === '0') return [];
  return text.split('+').map((part): DelayTerm => {
    const [kind, a, b, ...rest] = part.trim().split(':');
    if (rest.length > 0) throw new RangeError(`too many fields in delay term "${part}"`);
    if (a === undefined) return { kind: 'const', ns: parseDurationNs(kind!) };
    if (kind === 'const' && b === undefined) return { kind: 'const', ns: parseDurationNs(a) };
    if (kind === 'exp' && b === undefined) return { kind: 'exp', meanNs: parseDurationNs(a) };
    if (kind === 'uniform' && b !== undefined) {
      const loNs = parseDurationNs(a);
      const hiNs = parseDurationNs(b);
      if (hiNs < loNs) throw new RangeError(`uniform delay needs lo <= hi, got "${part}"`);
      return { kind: 'uniform', loNs, hiNs };
    }
    throw new RangeError(`unknown delay term "${part}" (const:D, uniform:LO:HI, exp:MEAN)`);
  });
}

/** Parses a share: `5%` or `0.05`. */
export function parseShare(text: string): number {
  const m = /^\s*(\d+\.?\d*|\.\d+)\s*(%?)\s*$/.exec(text);
  const value = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(value >= 0 && value <= 1)) throw new RangeError(`expected a share such as 5% or 0.05, got "${text}"`);
  return value;
}

/** Parses `SHARE:DURATION`, e.g. `2%:200ms`. */
export function parseShareDuration(text: string): { share: number; ns: number } {
  const i = text.lastIndexOf(':');
  if (i < 0) throw new RangeError(`expected SHARE:DURATION such as 2%:200ms, got "${text}"`);
  return { share: parseShare(text.slice(0, i)), ns: parseDurationNs(text.slice(i + 1)) };
}

interface Pending {
  dueNs: number;
  seq: number;
  send: () => void;
}

/** A binary min-heap of pending deliveries by due time, then arrival order. */
class DeliveryQueue {
  private readonly heap: Pending[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): Pending | undefined {
    return this.heap[0];
  }
  push(item: Pending): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.dueNs < b.dueNs || (a.dueNs === b.dueNs && a.seq < b.seq);
}

const monoNs = (): number => Number(process.hrtime.bigint());

/** Below this much time to go, the scheduler polls instead of arming a timer. */
const SPIN_NS = 1_500_000;

/** One direction's decisions: its own generator, so the other direction's traffic cannot change them. */
class Direction {
  readonly stats: DirectionStats = {
    received: 0,
    sent: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    spiked: 0,
    meanLateNs: 0,
    maxLateNs: 0,
  };
  /** Sends that went through the queue (the lateness mean's denominator). */
  queued = 0;
  private readonly random: () => number;
  constructor(
    readonly impairment: DirectionImpairment,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** The delays (ns) at which copies of one datagram go out: [] when lost, two when duplicated. */
  plan(): number[] {
    const imp = this.impairment;
    this.stats.received++;
    // Draw every decision every time, so a datagram's fate does not shift the draws of the next.
    const lost = this.random() < imp.loss;
    const duplicated = this.random() < imp.duplicate;
    const delays = [this.oneDelayNs(), this.oneDelayNs()];
    if (lost) {
      this.stats.lost++;
      return [];
    }
    if (duplicated) {
      this.stats.duplicated++;
      return delays;
    }
    return delays.slice(0, 1);
  }

  private oneDelayNs(): number {
    const imp = this.impairment;
    const spiked = this.random() < imp.spike;
    const reordered = this.random() < imp.reorder;
    let ns = drawDelayNs(imp.delay, this.random);
    if (spiked) {
      this.stats.spiked++;
      ns += imp.spikeNs;
    }
    if (reordered) {
      this.stats.reordered++;
      ns += imp.reorderNs;
    }
    return ns;
  }
}

interface Client {
  socket: Socket;
  lastSeenNs: number;
}

/** Idle clients' upstream sockets are closed after this long. */
const CLIENT_IDLE_NS = 120e9;

/** The running proxy. Stop it with `close()`. */
export class ImpairmentProxy {
  readonly forward: Direction;
  readonly back: Direction;
  private readonly queue = new DeliveryQueue();
  private readonly clients = new Map<string, Client>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  private constructor(
    private readonly listenSocket: Socket,
    private readonly upstream: { host: string; port: number },
    options: ImpairmentProxyOptions,
  ) {
    const seed = options.seed ?? 1;
    this.forward = new Direction({ ...NO_IMPAIRMENT, ...options.forward }, seed * 2 + 1);
    this.back = new Direction({ ...NO_IMPAIRMENT, ...options.back }, seed * 2 + 2);
  }

  /** Starts a proxy; resolves once it listens. */
  static async start(options: ImpairmentProxyOptions): Promise<ImpairmentProxy> {
    const listen = options.listen ?? { host: '127.0.0.1', port: 0 };
    const socket = createSocket('udp4');
    await bindSocket(socket, listen.host, listen.port);
    const proxy = new ImpairmentProxy(socket, options.upstream, options);
    socket.on('message', (data, from) => proxy.fromClient(data, from));
    return proxy;
  }

  /** Where clients should send. */
  get address(): { host: string; port: number } {
    const a = this.listenSocket.address();
    return { host: a.address, port: a.port };
  }

  /** `host:port` of `address`. */
  get addr(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  stats(): { forward: DirectionStats; back: DirectionStats } {
    return { forward: { ...this.forward.stats }, back: { ...this.back.stats } };
  }

  private fromClient(data: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    let client = this.clients.get(key);
    if (!client) {
      const socket = createSocket('udp4');
      client = { socket, lastSeenNs: monoNs() };
      this.clients.set(key, client);
      // Replies from upstream go back to this client through the listening socket.
      socket.on('message', (reply) =>
        this.schedule(this.back, () => this.listenSocket.send(reply, from.port, from.address, ignore)),
      );
      socket.on('error', ignore);
      socket.bind(0, '127.0.0.1');
      this.sweep();
    }
    client.lastSeenNs = monoNs();
    const socket = client.socket;
    this.schedule(this.forward, () => socket.send(data, this.upstream.port, this.upstream.host, ignore));
  }

  private schedule(direction: Direction, send: () => void): void {
    if (this.closed) return;
    const now = monoNs();
    for (const delayNs of direction.plan()) {
      const dueNs = now + delayNs;
      const wrapped = () => {
        direction.stats.sent++;
        const lateNs = monoNs() - dueNs;
        if (lateNs > 0) {
          direction.queued++;
          direction.stats.meanLateNs += (lateNs - direction.stats.meanLateNs) / direction.queued;
          direction.stats.maxLateNs = Math.max(direction.stats.maxLateNs, lateNs);
        }
        try {
          send();
        } catch {
          // A socket closed under a queued datagram: the datagram is lost, as on a real network.
        }
      };
      // Nothing to wait for and nothing queued: send now, no scheduling latency at all.
      if (delayNs === 0 && this.queue.size === 0) wrapped();
      else this.queue.push({ dueNs, seq: this.seq++, send: wrapped });
    }
    this.pump();
  }

  /** Sends whatever is due and arms the next wake-up: a timer while far, polling when close. */
  private pump(): void {
    if (this.closed) return;
    let now = monoNs();
    for (let next = this.queue.peek(); next && next.dueNs <= now; next = this.queue.peek()) {
      this.queue.pop()!.send();
      now = monoNs();
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.queue.peek();
    if (!next || this.immediate) return;
    const waitNs = next.dueNs - now;
    if (waitNs > SPIN_NS) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.pump();
        },
        Math.floor((waitNs - SPIN_NS) / 1e6) + 1,
      );
    } else {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.pump();
      });
    }
  }

  private sweep(): void {
    const now = monoNs();
    for (const [key, client] of this.clients) {
      if (now - client.lastSeenNs > CLIENT_IDLE_NS) {
        client.socket.close();
        this.clients.delete(key);
      }
    }
  }

  /** Stops forwarding and closes every socket; datagrams still queued are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    const sockets = [this.listenSocket, ...[...this.clients.values()].map((c) => c.socket)];
    this.clients.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function ignore(): void {}

function bindSocket(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      socket.on('error', ignore);
      resolve();
    });
  });
}

/**
 * Builds proxy options from command-line arguments (see the file comment). Throws RangeError (or
 * ConfigError, for an address) on
 * anything it does not understand.
 */
export function parseProxyArgs(argv: readonly string[]): ImpairmentProxyOptions {
  const forward: Partial<DirectionImpairment> = {};
  const back: Partial<DirectionImpairment> = {};
  let listen = { host: '127.0.0.1', port: 0 };
  let upstream: { host: string; port: number } | undefined;
  let seed = 1;
  const setters: Record<string, (d: Partial<DirectionImpairment>, v: string) => void> = {
    delay: (d, v) => (d.delay = parseDelay(v)),
    loss: (d, v) => (d.loss = parseShare(v)),
    dup: (d, v) => (d.duplicate = parseShare(v)),
    reorder: (d, v) => {
      const { share, ns } = parseShareDuration(v);
      d.reorder = share;
      d.reorderNs = ns;
    },
    spike: (d, v) => {
      const { share, ns } = parseShareDuration(v);
      d.spike = share;
      d.spikeNs = ns;
    },
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!flag.startsWith('--') || value === undefined) throw new RangeError(`expected --option value, got "${flag}"`);
    i++;
    const name = flag.slice(2);
    if (name === 'listen') listen = parseHostPort(value, '--listen');
    else if (name === 'upstream') upstream = parseHostPort(value, '--upstream');
    else if (name === 'seed') {
      seed = Number(value);
      if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got "${value}"`);
    } else {
      const m = /^(?:(fwd|back)-)?(delay|loss|dup|reorder|spike)$/.exec(name);
      if (!m) throw new RangeError(`unknown option ${flag}`);
      const set = setters[m[2]!]!;
      if (m[1] !== 'back') set(forward, value);
      if (m[1] !== 'fwd') set(back, value);
    }
  }
  if (!upstream) throw new RangeError('--upstream host:port is required');
  return { listen, upstream, seed, forward, back };
}

const USAGE = `usage: impairment-proxy --upstream HOST:PORT [--listen HOST:PORT] [--seed N]
  [--[fwd-|back-]delay DIST] [--[fwd-|back-]loss SHARE] [--[fwd-|back-]dup SHARE]
  [--[fwd-|back-]reorder SHARE:DURATION] [--[fwd-|back-]spike SHARE:DURATION]
DIST: terms joined by +, each 5ms, const:5ms, uniform:1ms:3ms or exp:2ms; SHARE: 5% or 0.05
fwd: client -> upstream, back: upstream -> client; without a prefix: both directions.
`;

async function cli(argv: readonly string[]): Promise<void> {
  // No arguments: usage, and nothing else (node --test runs every .js file under dist/test/, this one too).
  if (argv.length === 0 || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  let options: ImpairmentProxyOptions;
  try {
    options = parseProxyArgs(argv);
  } catch (err) {
    process.stderr.write(`impairment-proxy: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const proxy = await ImpairmentProxy.start(options);
  process.stdout.write(
    `${JSON.stringify({ msg: 'proxy listening', addr: proxy.addr, upstream: options.upstream, seed: options.seed })}\n`,
  );
  const stop = () => {
    process.stdout.write(`${JSON.stringify({ msg: 'proxy stats', ...proxy.stats() })}\n`);
    void proxy.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void cli(process.argv.slice(2));
