/**
 * Accuracy bench: a real slave process with a known clock shift talks to a master
 * through the impairment proxy (its own process); the master is the real MasterService (the
 * pipeline's fast lane, CheckResponder, estimator, Fleet) running in this process with a tap on every
 * finished check, so each finished check gives its raw samples, saturn's single-check
 * estimate, its history-combined estimate and alarm state, and the original tool's estimate of
 * the same samples, all in the same run.
 *
 *   npm run bench:accuracy -- [--checks 40] [--interval 500ms] [--rounds 8] [--seed 1] [--only jitter] [--dump rows.json]
 *
 * True offset = the slave's --clock-offset: both processes read the same kernel clock, so what
 * remains besides the shift is each process's anchor error (see the clock section of the output).
 * A drifting scenario runs the master's clock that many ppm slow (SystemClock's drift testing aid),
 * which to the estimator is the same as a slave running that much fast: the offset (slave −
 * master) grows at exactly that rate from a monotonic instant the bench knows, so the truth line
 * is exact. (A slave under `faketime -f '+0 xRATE'` drifts for real, as the end-to-end tests run
 * one, but libfaketime starts its clock when the process loads, 10-150 ms after the spawn on a
 * busy machine: at 1,000 ppm that is up to 150 µs of unknown intercept.)
 *
 * Every scenario is also replayed as if its checks had been 10 s apart, the default interval: the
 * same single-check intervals fed to an OffsetHistory at stretched instants (a drifting slave's
 * intervals moved along its true drift to the stretched instant), so the history's widening is
 * measured at the default interval without runs of many minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../src/clock/system-clock.js';
import type { Estimate } from '../src/estimate/check.js';
import type { Frequency } from '../src/estimate/frequency.js';
import { OffsetHistory } from '../src/estimate/history.js';
import { originalEstimate } from '../src/estimate/original.js';
import { EventJournal } from '../src/events/journal.js';
import { MemorySequence } from '../src/events/sequence-store.js';
import { buildConfig } from '../src/config/build-config.js';
import { createDiagnostics } from '../src/log/diagnostics.js';
import { LlogWriter } from '../src/log/llog.js';
import type { FinishedCheck, Verdict } from '../src/protocol/responder.js';
import { MasterService } from '../src/service/master-service.js';
import { SaturnProcess } from '../test/helpers/saturn-process.js';
import { FixedDriftHistory } from './lib/fixed-drift-history.js';

const KEY = 'accuracy-bench-key-0123456789';
const PROXY = fileURLToPath(new URL('../test/tools/impairment-proxy.js', import.meta.url));

interface Scenario {
  name: string;
  /** Proxy options; undefined: the slave talks to the master directly. */
  proxy: string[] | undefined;
  shiftNs: number;
  /** Mean of the exponential jitter each way, for the "median < 10% of the jitter" target. */
  jitterMeanNs?: number;
  /** Equal delay distributions both ways: coverage must be >= 99%. */
  symmetric: boolean;
  /** The slave's clock runs this much fast relative to the master's, ppm: its offset grows by this × elapsed time. */
  driftPpm?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'clean loopback (no proxy)', proxy: undefined, shiftNs: 0, symmetric: true },
  { name: 'proxy, no impairment', proxy: [], shiftNs: 0, symmetric: true },
  { name: 'exp jitter 1 ms each way', proxy: ['--delay', 'exp:1ms'], shiftNs: 0, jitterMeanNs: 1e6, symmetric: true },
  {
    name: 'exp jitter 10 ms each way',
    proxy: ['--delay', 'exp:10ms'],
    shiftNs: 0,
    jitterMeanNs: 10e6,
    symmetric: true,
  },
  {
    name: 'reference: 1 ms + exp 2 ms each way',
    proxy: ['--delay', '1ms+exp:2ms'],
    shiftNs: 0,
    jitterMeanNs: 2e6,
    symmetric: true,
  },
  { name: 'asymmetric: slave->master +5 ms, back 0', proxy: ['--fwd-delay', '5ms'], shiftNs: 0, symmetric: false },
  {
    name: '5% loss, 5% reordered by 3 ms, 1% dup, exp 1 ms',
    proxy: ['--delay', 'exp:1ms', '--loss', '5%', '--reorder', '5%:3ms', '--dup', '1%'],
    shiftNs: 0,
    symmetric: true,
  },
  {
    name: '200 ms spikes on 2%, exp 1 ms',
    proxy: ['--delay', 'exp:1ms', '--spike', '2%:200ms'],
    shiftNs: 0,
    symmetric: true,
  },
  {
    name: 'slave shifted +0.75 s, exp 1 ms',
    proxy: ['--delay', 'exp:1ms'],
    shiftNs: 0.75e9,
    jitterMeanNs: 1e6,
    symmetric: true,
  },
  {
    name: 'slave shifted -3 s, exp 1 ms',
    proxy: ['--delay', 'exp:1ms'],
    shiftNs: -3e9,
    jitterMeanNs: 1e6,
    symmetric: true,
  },
  ...[10, 100, 1000].map((driftPpm): Scenario => ({
    name: `slave drifting +${driftPpm} ppm, exp 1 ms`,
    proxy: ['--delay', 'exp:1ms'],
    shiftNs: 0,
    jitterMeanNs: 1e6,
    symmetric: true,
    driftPpm,
  })),
];

/** The true offset of a scenario's slave at the master's monotonic instant `mono`, given when the drift started. */
function truthAt(s: Scenario, driftSinceMono: bigint, mono: bigint): number {
  return s.shiftNs + ((s.driftPpm ?? 0) * Number(mono - driftSinceMono)) / 1e6;
}

interface Options {
  checks: number;
  interval: string;
  intervalMs: number;
  rounds: number;
  seed: number;
  only: string | undefined;
  /** False-alarm threshold = |true offset| + this. */
  marginNs: number;
  /** Write every check (instants, single-check and combined estimates, truth) here as JSON. */
  dump: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    checks: 40,
    interval: '500ms',
    intervalMs: 500,
    rounds: 8,
    seed: 1,
    only: undefined,
    marginNs: 100_000,
    dump: undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new RangeError(`${flag} needs a value`);
    if (flag === '--checks') o.checks = Number(value);
    else if (flag === '--interval') {
      const m = /^(\d+)ms$/.exec(value);
      if (!m) throw new RangeError('--interval must be in ms, e.g. 500ms');
      o.interval = value;
      o.intervalMs = Number(m[1]);
    } else if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--seed') o.seed = Number(value);
    else if (flag === '--only') o.only = value;
    else if (flag === '--margin-us') o.marginNs = Number(value) * 1e3;
    else if (flag === '--dump') o.dump = value;
    else throw new RangeError(`unknown option ${flag}`);
  }
  return o;
}

/** One finished check as the bench sees it. */
interface Row {
  finished: FinishedCheck;
  single: Estimate | undefined;
  combined: Verdict | undefined;
  /** The Fleet's alarm after this check (threshold = |truth| + margin). */
  alarmOver: boolean;
  original: number | undefined;
  /** The true offset when the check finished. */
  truthNs: number;
}

/** The real MasterService (pipeline fast lane, Fleet, alarm), quiet, with a tap on every finished check. */
async function startMaster(
  clock: SystemClock,
  rounds: number,
  thresholdNs: number,
  onRow: (row: Omit<Row, 'truthNs'>) => void,
) {
  const config = buildConfig({
    listenAddr: '127.0.0.1:0',
    hmacKey: KEY,
    name: 'bench-master',
    rounds,
    threshold: `${thresholdNs}ns`,
  });
  const quiet = { write: () => true };
  const logger = createDiagnostics({ level: 'error', format: 'json', sink: quiet });
  return MasterService.start(config, {
    clock,
    logger,
    llog: new LlogWriter(quiet),
    journal: new EventJournal({ reporter: 'bench-master', sequence: new MemorySequence(), clock, logger }),
    observe: (record, finished) =>
      onRow({
        finished,
        single: finished.outcome.ok ? finished.outcome.estimate : undefined,
        combined: record.verdict,
        alarmOver: record.node.alarm.over,
        original: originalEstimate(finished.samples),
      }),
  });
}

/** Starts the proxy's command line and waits for its address. */
async function startProxy(
  upstream: string,
  args: string[],
  seed: number,
): Promise<{ child: ChildProcess; addr: string; stats: Promise<any> }> {
  const child = spawn(process.execPath, [PROXY, '--upstream', upstream, '--seed', String(seed), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let resolveStats: (v: any) => void = () => {};
  const stats = new Promise<any>((r) => (resolveStats = r));
  const addr = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n').slice(0, -1)) {
        const doc = JSON.parse(line);
        if (doc.msg === 'proxy listening') resolve(doc.addr);
        if (doc.msg === 'proxy stats') resolveStats(doc);
      }
      out = out.slice(out.lastIndexOf('\n') + 1);
    });
    child.once('exit', () => {
      reject(new Error('proxy exited'));
      resolveStats(undefined);
    });
  });
  return { child, addr, stats };
}

async function runScenario(s: Scenario, o: Options, clock: SystemClock, seed: number): Promise<Row[]> {
  const rows: Row[] = [];
  let wake: () => void = () => {};
  // A drifting slave passes the threshold sooner or later: its false alarms are not counted.
  const thresholdNs = Math.abs(s.shiftNs) + o.marginNs;
  const sinceMono = process.hrtime.bigint();
  const masterClock = s.driftPpm === undefined ? clock : new SystemClock({ drift: { ppm: -s.driftPpm, sinceMono } });
  const master = await startMaster(masterClock, o.rounds, thresholdNs, (row) => {
    rows.push({ ...row, truthNs: truthAt(s, sinceMono, row.finished.at.mono) });
    wake();
  });
  const masterAddr = `127.0.0.1:${master.address.port}`;
  const proxy = s.proxy ? await startProxy(masterAddr, s.proxy, seed) : undefined;
  const slave = SaturnProcess.start([
    '--master-addr',
    proxy?.addr ?? masterAddr,
    '--listen-addr',
    '127.0.0.1:0',
    '--hmac-key',
    KEY,
    '--name',
    'bench',
    '--interval',
    o.interval,
    '--clock-offset',
    `${s.shiftNs / 1e6}ms`,
    '--log-format',
    'json',
    '--log-level',
    'warn',
  ]);
  const deadline = Date.now() + o.checks * o.intervalMs * 3 + 30_000;
  try {
    while (rows.length < o.checks) {
      if (Date.now() > deadline)
        throw new Error(`${s.name}: only ${rows.length} of ${o.checks} checks before the deadline\n${slave.output()}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
    }
  } finally {
    await slave.stop();
    if (proxy) {
      proxy.child.kill('SIGTERM');
      const stats = await proxy.stats;
      if (stats)
        process.stderr.write(`  proxy: forward ${JSON.stringify(stats.forward)} back ${JSON.stringify(stats.back)}\n`);
    }
    await master.close();
  }
  return rows.slice(0, o.checks);
}

/** Nearest-rank percentile of non-negative numbers. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const us = (ns: number) => (Number.isFinite(ns) ? (ns / 1e3).toFixed(Math.abs(ns) < 1e5 ? 1 : 0) : '-');
const pct = (part: number, whole: number) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);

/** Errors and coverage of one estimator over a scenario's checks. */
interface Figures {
  median: number;
  p99: number;
  covered: number;
  n: number;
  meanBound: number;
}

interface Summary {
  scenario: Scenario;
  checks: number;
  discarded: string[];
  history: Figures & { falseAlarms: number; bias: number };
  single: Figures & { falseAlarms: number };
  original: { median: number; p99: number; n: number; undefinedCount: number; falseAlarms: number };
  /**
   * The same checks replayed through a fresh history, the fixed-drift one before frequencies and
   * the one the master runs now: as they came, and as if 10 s apart.
   */
  replay: { fixed: Figures; fixedSpaced: Figures; now: Replayed; nowSpaced: Replayed };
}

/** Median, p99, coverage and mean bound of (estimate, truth) pairs. */
function figures(pairs: { offsetNs: number; errorNs: number; truthNs: number }[]): Figures {
  const errors = pairs.map((p) => Math.abs(p.offsetNs - p.truthNs));
  return {
    median: percentile(errors, 50),
    p99: percentile(errors, 99),
    covered: pairs.filter((p) => Math.abs(p.offsetNs - p.truthNs) <= p.errorNs).length,
    n: pairs.length,
    meanBound: pairs.reduce((a, p) => a + p.errorNs, 0) / Math.max(1, pairs.length),
  };
}

/** How a history measured the frequency over a scenario's checks, against the true rate. */
interface FrequencyFigures {
  /** Checks after which the history had a frequency. */
  n: number;
  /** Median |point − true rate|, ppm. */
  median: number;
  /** Median half-width of the bound, ppm. */
  medianBound: number;
  /** Checks whose frequency bound held the true rate. */
  covered: number;
}

type Replayed = Figures & { frequency: FrequencyFigures };

/** What a replay needs of a history. */
interface Replayable {
  add(at: bigint, estimate: Estimate): { offsetNs: number; errorNs: number; frequency?: Frequency | undefined };
}

/**
 * A fresh history fed each good check's single-check estimate, in order. `stretch` spaces the
 * checks that many times further apart; a drifting slave's intervals move along its true drift
 * to the stretched instant, so the truth stays a line of the same slope.
 */
function replay(s: Scenario, rows: Row[], history: Replayable, stretch = 1n): Replayed {
  const start = rows[0]?.finished.at.mono ?? 0n;
  const truePpm = s.driftPpm ?? 0;
  const pairs: { offsetNs: number; errorNs: number; truthNs: number }[] = [];
  const frequencies: Frequency[] = [];
  for (const r of rows) {
    if (!r.single) continue;
    const at = start + (r.finished.at.mono - start) * stretch;
    const movedNs = (truePpm * Number(at - r.finished.at.mono)) / 1e6;
    const combined = history.add(at, { ...r.single, offsetNs: r.single.offsetNs + movedNs });
    pairs.push({ offsetNs: combined.offsetNs, errorNs: combined.errorNs, truthNs: r.truthNs + movedNs });
    if (combined.frequency) frequencies.push(combined.frequency);
  }
  return {
    ...figures(pairs),
    frequency: {
      n: frequencies.length,
      median: percentile(
        frequencies.map((f) => Math.abs(f.ppm - truePpm)),
        50,
      ),
      medianBound: percentile(
        frequencies.map((f) => (f.hiPpm - f.loPpm) / 2),
        50,
      ),
      covered: frequencies.filter((f) => f.loPpm <= truePpm && truePpm <= f.hiPpm).length,
    },
  };
}

function summarise(s: Scenario, rows: Row[], thresholdNs: number, intervalMs: number): Summary {
  const stretch = BigInt(Math.max(1, Math.round(10_000 / intervalMs))); // as if checks were 10 s apart, the default interval
  const ok = rows.filter((r) => r.single && r.combined);
  // An alarm is false when the truth is within the threshold (a drifting slave crosses it for real).
  const under = (r: Row) => Math.abs(r.truthNs) <= thresholdNs;
  const hist = figures(ok.map((r) => ({ ...r.combined!, truthNs: r.truthNs })));
  // Signed median: a constant part of the error (the two processes' clock anchors, a fixed asymmetry).
  const bias =
    percentile(
      ok.map((r) => r.combined!.offsetNs - r.truthNs + 1e12),
      50,
    ) - 1e12;
  const origRows = rows.filter((r) => r.original !== undefined);
  const orig = origRows.map((r) => Math.abs(r.original! - r.truthNs));
  return {
    scenario: s,
    checks: rows.length,
    discarded: rows
      .filter((r) => !r.finished.outcome.ok)
      .map((r) => (r.finished.outcome.ok ? '' : r.finished.outcome.code)),
    history: { ...hist, falseAlarms: ok.filter((r) => r.alarmOver && under(r)).length, bias },
    single: {
      ...figures(ok.map((r) => ({ ...r.single!, truthNs: r.truthNs }))),
      falseAlarms: ok.filter((r) => Math.abs(r.single!.offsetNs) - r.single!.errorNs > thresholdNs && under(r)).length,
    },
    original: {
      median: percentile(orig, 50),
      p99: percentile(orig, 99),
      n: origRows.length,
      undefinedCount: rows.length - origRows.length,
      // The original has no bound: it alarms when its offset alone is over the threshold.
      falseAlarms: origRows.filter((r) => Math.abs(r.original!) > thresholdNs && under(r)).length,
    },
    replay: {
      fixed: replay(s, ok, new FixedDriftHistory()),
      fixedSpaced: replay(s, ok, new FixedDriftHistory(), stretch),
      now: replay(s, ok, new OffsetHistory()),
      nowSpaced: replay(s, ok, new OffsetHistory(), stretch),
    },
  };
}

/** One check as --dump writes it. */
function dumpRow(r: Row) {
  return {
    wall: r.finished.at.wall,
    mono: r.finished.at.mono,
    truthNs: r.truthNs,
    single: r.single ?? null,
    combined: r.combined ?? null,
    original: r.original ?? null,
  };
}

/** The clock facts the figures depend on: declared resolution, measured granularity, anchor spread. */
function clockReport(clock: SystemClock): string[] {
  const n = 200_000;
  let minStep = Infinity;
  let prev = clock.now();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = clock.now();
    const d = Number(t - prev);
    if (d > 0 && d < minStep) minStep = d;
    prev = t;
  }
  const costNs = Number(process.hrtime.bigint() - t0) / n;
  let dateStep = Infinity;
  for (let a = Date.now(), i = 0; i < 5; i++) {
    let b = Date.now();
    while (b === a) b = Date.now();
    dateStep = Math.min(dateStep, (b - a) * 1e6);
    a = b;
  }
  // Each SystemClock anchors itself (median of 7 Date.now() tick-overs); two processes differ by this much.
  const anchors: bigint[] = [];
  for (let i = 0; i < 7; i++) {
    const c = new SystemClock();
    const h = process.hrtime.bigint();
    anchors.push(c.now() - h);
  }
  anchors.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const spreadNs = Number(anchors[anchors.length - 1]! - anchors[0]!);
  return [
    `clock: SystemClock (realtime anchor + hrtime) declares ${clock.resolutionNs} ns resolution; ` +
      `measured: smallest step between readings ${minStep} ns, ${costNs.toFixed(0)} ns per reading; ` +
      `Date.now() steps by ${dateStep / 1e6} ms. Anchor spread over 7 fresh clocks (what two processes can disagree by): ${(spreadNs / 1e3).toFixed(1)} µs.`,
  ];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const clock = new SystemClock();
  const lines = clockReport(clock);
  for (const l of lines) console.log(l);
  console.log(
    `checks per scenario ${o.checks}, interval ${o.interval}, rounds ${o.rounds}, proxy seed ${o.seed} × 100 + scenario index, history of 8 checks at the measured frequency, false-alarm threshold |truth| + ${o.marginNs / 1e3} µs`,
  );
  const summaries: Summary[] = [];
  const dumped: unknown[] = [];
  for (const [i, s] of SCENARIOS.entries()) {
    if (o.only && !s.name.includes(o.only)) continue;
    process.stderr.write(`scenario: ${s.name}\n`);
    // A seed per scenario: one realization of the delays is not repeated in every row (its luck would be too).
    const rows = await runScenario(s, o, clock, o.seed * 100 + i);
    summaries.push(summarise(s, rows, Math.abs(s.shiftNs) + o.marginNs, o.intervalMs));
    dumped.push({ scenario: s, rows: rows.map(dumpRow) });
  }
  if (o.dump) writeFileSync(o.dump, `${JSON.stringify(dumped, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`);
  console.log('');
  console.log('errors in µs (|estimate − true offset|); coverage = share of checks whose bound holds the true offset');
  console.log('');
  console.log(
    '| scenario | checks (discarded) | saturn history: median / p99 | coverage | mean bound | saturn single check: median / p99 | coverage | original: median / p99 | original ÷ saturn (median) | false alarms saturn / original |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const x of summaries) {
    const ratio = x.original.median / Math.max(x.history.median, 1);
    console.log(
      `| ${x.scenario.name} | ${x.checks} (${x.discarded.length}) | ${us(x.history.median)} / ${us(x.history.p99)} | ${pct(x.history.covered, x.history.n)} | ${us(x.history.meanBound)} ` +
        `| ${us(x.single.median)} / ${us(x.single.p99)} | ${pct(x.single.covered, x.single.n)} | ${us(x.original.median)} / ${us(x.original.p99)}${x.original.undefinedCount ? ` (${x.original.undefinedCount} none)` : ''} ` +
        `| ${ratio.toFixed(1)}x | ${x.history.falseAlarms} / ${x.original.falseAlarms} |`,
    );
  }
  console.log('');
  console.log(
    'the same checks replayed through a fresh history (median error µs; coverage; mean bound µs): before, older checks widened',
  );
  console.log(
    'by a fixed 100 ppm (the point from 15 ppm); now, carried at the measured frequency. As they came, and as if the checks had',
  );
  console.log('been 10 s apart, the default interval (a drifting slave moved along its true drift)');
  console.log('');
  console.log(
    '| scenario | single check | before | now | original | 10 s apart: single | before | coverage | mean bound | now | coverage | mean bound | now ÷ single |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of summaries) {
    const r = x.replay;
    console.log(
      `| ${x.scenario.name} | ${us(x.single.median)} | ${us(r.fixed.median)} (${pct(r.fixed.covered, r.fixed.n)}) | ${us(r.now.median)} (${pct(r.now.covered, r.now.n)}) | ${us(x.original.median)} ` +
        `| ${us(x.single.median)} | ${us(r.fixedSpaced.median)} | ${pct(r.fixedSpaced.covered, r.fixedSpaced.n)} | ${us(r.fixedSpaced.meanBound)} ` +
        `| ${us(r.nowSpaced.median)} | ${pct(r.nowSpaced.covered, r.nowSpaced.n)} | ${us(r.nowSpaced.meanBound)} | ${(r.nowSpaced.median / x.single.median).toFixed(2)} |`,
    );
  }
  console.log('');
  console.log(
    'frequency (slave − master, ppm; the truth is the drift the scenario sets, 0 otherwise): median |estimate − truth|, half-width of',
  );
  console.log(
    'the bound, and the share of checks with a frequency whose bound held the truth; as they came and 10 s apart',
  );
  console.log('');
  console.log(
    '| scenario | true ppm | median error | bound ± | coverage | 10 s apart: median error | bound ± | coverage |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const ppm = (x: number) => (Number.isFinite(x) ? x.toFixed(Math.abs(x) < 10 ? 3 : 1) : '-');
  for (const x of summaries) {
    const [a, b] = [x.replay.now.frequency, x.replay.nowSpaced.frequency];
    console.log(
      `| ${x.scenario.name} | ${x.scenario.driftPpm ?? 0} | ${ppm(a.median)} | ${ppm(a.medianBound)} | ${pct(a.covered, a.n)} ` +
        `| ${ppm(b.median)} | ${ppm(b.medianBound)} | ${pct(b.covered, b.n)} |`,
    );
  }
  console.log('');
  for (const x of summaries) {
    const t: string[] = [];
    t.push(`signed median error (history) ${us(x.history.bias)} µs`);
    if (x.scenario.jitterMeanNs)
      t.push(
        `median ${((100 * x.history.median) / x.scenario.jitterMeanNs).toFixed(1)}% of the mean jitter (target < 10%)`,
      );
    if (x.scenario.symmetric) t.push(`coverage ${pct(x.history.covered, x.history.n)} (target >= 99%)`);
    else t.push(`coverage ${pct(x.history.covered, x.history.n)} under asymmetry (the bound must hold the truth)`);
    if (x.discarded.length) t.push(`discarded: ${[...new Set(x.discarded)].join(', ')}`);
    console.log(`- ${x.scenario.name}: ${t.join('; ')}`);
  }
  const ratios = summaries.map((x) => x.original.median / Math.max(x.history.median, 1));
  const falseAlarms = summaries.reduce((a, x) => a + x.history.falseAlarms, 0);
  const origAlarms = summaries.reduce((a, x) => a + x.original.falseAlarms, 0);
  console.log('');
  console.log(
    `accuracy: median error original ÷ saturn (history), same samples: min ${Math.min(...ratios).toFixed(1)}x, max ${Math.max(...ratios).toFixed(1)}x; ` +
      `false alarms saturn ${falseAlarms}, original ${origAlarms}`,
  );
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
