/**
 * `saturn roughtime query`, `saturn roughtime verify` and `saturn roughtime serve`. Parsing and printing only: the work is
 * in src/roughtime. Exit codes: 0 all good, 1 an answer or a proof is invalid, 2 usage errors
 * (ConfigError, or commander's own errors, which main maps to 2).
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { Clock } from '../clock/clock.js';
import { ConfigError } from '../errors.js';
import { verifyMalfeasanceReport, writeMalfeasanceReport, type Contradiction } from '../roughtime/chain.js';
import { DEFAULT_ATTEMPTS, DEFAULT_QUERY_TIMEOUT_NS, queryChain, type QueryAnswer } from '../roughtime/client.js';
import { parseServerList, parseServerSpec, type RoughtimeServer } from '../roughtime/server-list.js';
import { verifyResponse, type VerifyResult } from '../roughtime/verify.js';
import { SystemClock } from '../clock/system-clock.js';
import { createDiagnostics } from '../log/diagnostics.js';
import {
  DEFAULT_FLUSH_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_QUEUE_CAPACITY,
  DEFAULT_WORKERS,
} from '../pipeline/batched-lane.js';
import { DEFAULT_CLOCK_UNCERTAINTY_NS, DEFAULT_ROUGHTIME_LISTEN, startRoughtimeServer } from '../roughtime/server.js';
import { DEFAULT_DELEGATION_WINDOW_NS, adHocKeys, loadKeyFile } from '../roughtime/server-keys.js';
import { checkPrivateFile } from '../config/key-file.js';
import { formatDuration, formatHostPort, parseCount, parseDuration, parseHostPort } from '../util/parse.js';
import { listening } from '../service/listen.js';
import { waitForShutdown } from '../service/signals.js';
import type { Sink } from '../log/sink.js';

export interface RoughtimeCommandDeps {
  readonly stdout?: Sink;
  readonly stderr?: Sink;
  /** Where exit codes go; default process.exitCode. */
  readonly setExitCode?: (code: number) => void;
  /** Default: the system clock (realtime anchor plus monotonic elapsed). */
  readonly clock?: Clock;
  /** The chained query; tests may replace it. */
  readonly query?: typeof queryChain;
  /** What `serve` waits for before draining; default SIGINT/SIGTERM. */
  readonly shutdown?: () => Promise<unknown>;
}

/** JSON with bigints as exact integers (MIDP and MAXT are uint64). */
export function toJson(value: unknown): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v));
  return text.replace(/"\\u0000bigint:(\d+)"/g, '$1');
}

/** Exchange files hold hex (whitespace allowed) or the raw packet. */
export function decodeExchangeFile(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1').replace(/\s+/g, '');
  if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text))
    return new Uint8Array(Buffer.from(text, 'hex'));
  return bytes;
}

async function readInput(file: string, option: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    throw new ConfigError(
      `${option} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

function isoOf(ns: bigint | null): string | null {
  if (ns === null) return null;
  const ms = ns / 1_000_000n;
  // Date covers ±8.64e15 ms; MIDP can be anything a uint64 holds.
  return ms <= 8_640_000_000_000_000n ? new Date(Number(ms)).toISOString() : null;
}

function verifyJson(result: VerifyResult): Record<string, unknown> {
  return {
    valid: result.valid,
    version: result.version,
    midp: result.midp,
    radi: result.radi,
    reason: result.reason,
    midpIso: isoOf(result.midpNs),
    mint: result.mint,
    maxt: result.maxt,
  };
}

const ms = (ns: number): string => (ns / 1e6).toFixed(3);

function seconds(ns: number): string {
  return ns >= 1e9 ? `${(ns / 1e9).toFixed(ns % 1e9 === 0 ? 0 : 3)} s` : `${ms(ns)} ms`;
}

function answerLine(answer: QueryAnswer): string {
  const { server, result } = answer;
  const sign = answer.offsetNs >= 0 ? '+' : '-';
  const verdict = result.unsynchronised
    ? 'server is unsynchronised (RADI 0xffffffff)'
    : answer.withinInterval
      ? 'local clock inside the interval'
      : 'local clock OUTSIDE the interval';
  const greased = answer.rejected.length > 0 ? `, rejected ${answer.rejected.length} invalid answer(s)` : '';
  const fault = result.radiBelowResolution ? `, server fault: RADI 0 read as ${seconds(result.radiNs!)}` : '';
  return `${server.name}  version ${result.version}  midpoint ${isoOf(result.midpNs)}  radius ${seconds(result.radiNs!)}  rtt ${ms(answer.rttNs)} ms  offset ${sign}${ms(Math.abs(answer.offsetNs))} ms ± ${seconds(answer.uncertaintyNs)} (${verdict}${greased}${fault})\n`;
}

function answerJson(answer: QueryAnswer): Record<string, unknown> {
  const { server, result } = answer;
  return {
    name: server.name,
    address: formatHostPort(server),
    valid: true,
    version: result.version,
    midp: result.midp,
    midpIso: isoOf(result.midpNs),
    radi: result.radi,
    rttMs: answer.rttNs / 1e6,
    offsetMs: answer.offsetNs / 1e6,
    uncertaintyMs: answer.uncertaintyNs / 1e6,
    withinInterval: answer.withinInterval,
    unsynchronised: result.unsynchronised,
    radiBelowResolution: result.radiBelowResolution,
    attempts: answer.attempts,
    rejected: answer.rejected.length,
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveDuration(value: string, option: string): number {
  const ns = parseDuration(value, option, 'ms');
  if (ns <= 0) throw new ConfigError(`${option} must be a positive duration, got ${JSON.stringify(value)}`);
  return ns;
}

function positiveNumber(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(`${option} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

/** The `roughtime` command with its `query` and `verify` subcommands. */
export function roughtimeCommand(deps: RoughtimeCommandDeps = {}): Command {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const setExitCode = deps.setExitCode ?? ((code: number) => void (process.exitCode = code));
  const configure = (command: Command): Command =>
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: (s) => void stderr.write(s) });

  const roughtime = configure(
    new Command('roughtime').description(
      'Roughtime: query servers for signed time, verify saved exchanges and malfeasance reports',
    ),
  );

  roughtime.addCommand(
    configure(new Command('query'))
      .description(
        "query Roughtime servers (chained), verify every answer and print each server's time and the local clock's offset",
      )
      .option('--roughtime-servers <file>', 'server list in the ecosystem JSON format')
      .option('--roughtime-server <host:port=BASE64KEY>', 'a server to query (repeatable)', collect, [])
      .option('--json', 'print JSON')
      .option(
        '--timeout <duration>',
        'wait for the first attempt, growing 1.5x per retry; bare number = ms',
        formatDuration(DEFAULT_QUERY_TIMEOUT_NS),
      )
      .option('--attempts <n>', 'requests per server before giving up', String(DEFAULT_ATTEMPTS))
      .option('--rounds <n>', 'passes over the list (2 = the spec\'s "same sequence again")', '1')
      .addOption(
        new Option('--malfeasance-report <file>', 'where to write the proof if servers contradict each other').default(
          'roughtime-malfeasance.json',
        ),
      )
      .action(
        async (opts: {
          roughtimeServers?: string;
          roughtimeServer: string[];
          json?: boolean;
          timeout: string;
          attempts: string;
          rounds: string;
          malfeasanceReport: string;
        }) => {
          const servers: RoughtimeServer[] = [];
          if (opts.roughtimeServers !== undefined) {
            const list = parseServerList(
              Buffer.from(await readInput(opts.roughtimeServers, '--roughtime-servers')).toString('utf8'),
              opts.roughtimeServers,
            );
            servers.push(...list.servers);
            for (const skipped of list.skipped) stderr.write(`saturn: warning: ${skipped}\n`);
          }
          servers.push(...opts.roughtimeServer.map(parseServerSpec));
          if (servers.length === 0)
            throw new ConfigError(
              'roughtime query needs --roughtime-servers FILE or --roughtime-server host:port=BASE64KEY',
            );
          const attempts = Math.round(positiveNumber(opts.attempts, '--attempts'));
          const rounds = Math.round(positiveNumber(opts.rounds, '--rounds'));
          const sequence = Array.from({ length: rounds }, () => servers).flat();
          const query = deps.query ?? queryChain;
          const outcome = await query(sequence, {
            clock: deps.clock ?? new SystemClock(),
            attempts,
            backoff: { initialMs: positiveDuration(opts.timeout, '--timeout') / 1e6 },
          });
          let reportFile: string | null = null;
          if (outcome.report) {
            await writeMalfeasanceReport(opts.malfeasanceReport, outcome.report);
            reportFile = opts.malfeasanceReport;
          }
          const named = (c: Contradiction): Record<string, unknown> => ({
            earlier: outcome.links[c.earlier]!.server.name,
            later: outcome.links[c.later]!.server.name,
          });
          if (opts.json) {
            stdout.write(
              `${toJson({
                servers: [
                  ...outcome.answers.map(answerJson),
                  ...outcome.failures.map((f) => ({
                    name: f.server.name,
                    address: formatHostPort(f.server),
                    valid: false,
                    reason: (f.error as Error).message,
                  })),
                ],
                contradictions: outcome.contradictions.map(named),
                malfeasanceReport: reportFile,
              })}\n`,
            );
          } else {
            for (const answer of outcome.answers) stdout.write(answerLine(answer));
            for (const failure of outcome.failures)
              stdout.write(`${failure.server.name}  no valid answer: ${(failure.error as Error).message}\n`);
            for (const c of outcome.contradictions.map(named))
              stdout.write(
                `CONTRADICTION: ${String(c.earlier)} answered before ${String(c.later)}, yet its interval begins after ${String(c.later)}'s ends: one of them lies\n`,
              );
            if (reportFile) stdout.write(`malfeasance report written to ${reportFile}\n`);
          }
          setExitCode(outcome.failures.length === 0 && outcome.contradictions.length === 0 ? 0 : 1);
        },
      ),
  );

  roughtime.addCommand(
    configure(new Command('verify'))
      .description(
        'verify a saved request/response pair (hex or raw files), or a malfeasance report; exit 0 only if valid',
      )
      .option('--public-key <base64>', "the server's long-term Ed25519 public key")
      .option('--request <file>', 'the request packet')
      .option('--response <file>', 'the response packet')
      .option('--report <file>', 'a malfeasance report (JSON) to check instead')
      .action(async (opts: { publicKey?: string; request?: string; response?: string; report?: string }) => {
        if (opts.report !== undefined) {
          if (opts.publicKey !== undefined || opts.request !== undefined || opts.response !== undefined)
            throw new ConfigError(
              'roughtime verify takes either --report or --public-key with --request and --response, not both',
            );
          const text = Buffer.from(await readInput(opts.report, '--report')).toString('utf8');
          let report: unknown;
          try {
            report = JSON.parse(text);
          } catch (error) {
            stdout.write(
              `${toJson({ valid: false, reason: `the report is not JSON: ${(error as Error).message}`, responses: [], contradictions: [] })}\n`,
            );
            setExitCode(1);
            return;
          }
          const verdict = verifyMalfeasanceReport(report);
          stdout.write(
            `${toJson({ valid: verdict.valid, reason: verdict.reason, responses: verdict.results.map(verifyJson), contradictions: verdict.contradictions })}\n`,
          );
          setExitCode(verdict.valid ? 0 : 1);
          return;
        }
        if (opts.publicKey === undefined || opts.request === undefined || opts.response === undefined)
          throw new ConfigError('roughtime verify needs --public-key, --request and --response (or --report)');
        const publicKey = new Uint8Array(Buffer.from(opts.publicKey, 'base64'));
        if (publicKey.byteLength !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(opts.publicKey))
          throw new ConfigError(`--public-key must be 32 bytes of base64, got ${JSON.stringify(opts.publicKey)}`);
        const request = decodeExchangeFile(await readInput(opts.request, '--request'));
        const response = decodeExchangeFile(await readInput(opts.response, '--response'));
        const result = verifyResponse({ request, response, publicKey });
        stdout.write(`${toJson(verifyJson(result))}\n`);
        setExitCode(result.valid ? 0 : 1);
      }),
  );

  roughtime.addCommand(
    configure(new Command('serve'))
      .description(
        "run a Roughtime server (versions 1, 0x8000000c, drafts 08-11 and Google's original) until SIGINT/SIGTERM",
      )
      .option('--listen-addr <host:port>', 'UDP address to answer on', DEFAULT_ROUGHTIME_LISTEN)
      .option(
        '--key-file <file>',
        'long-term key (saturn keygen writes one); without it an ad hoc key, not for production',
      )
      .option('--allow-insecure-key-file', 'accept a --key-file that group or others may read (refused otherwise)')
      .option('--max-batch <n>', 'requests per signed batch', String(DEFAULT_MAX_BATCH))
      .option(
        '--flush <duration>',
        'longest wait for a batch to fill (at most 1s); bare number = ms',
        formatDuration(DEFAULT_FLUSH_MS * 1e6),
      )
      .addOption(new Option('--flush-ms <duration>', 'the former name of --flush').hideHelp())
      .option('--workers <n>', 'signing worker threads (0 = main thread)', String(DEFAULT_WORKERS))
      .option('--queue-size <n>', 'requests queued before the oldest is dropped', String(DEFAULT_QUEUE_CAPACITY))
      .option(
        '--delegation-window <duration>',
        'how long an online key is delegated for (renewed with a quarter left)',
        formatDuration(DEFAULT_DELEGATION_WINDOW_NS),
      )
      .option(
        '--clock-uncertainty <duration>',
        'how far the local clock may be off; RADI adds the batch wait to it',
        formatDuration(DEFAULT_CLOCK_UNCERTAINTY_NS),
      )
      .option('--log-level <level>', 'debug, info, warn or error', 'info')
      .action(
        async (opts: {
          listenAddr: string;
          keyFile?: string;
          allowInsecureKeyFile?: boolean;
          maxBatch: string;
          flush: string;
          flushMs?: string;
          workers: string;
          queueSize: string;
          delegationWindow: string;
          clockUncertainty: string;
          logLevel: string;
        }) => {
          const logLevel = opts.logLevel as 'debug' | 'info' | 'warn' | 'error';
          if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
            throw new ConfigError(`--log-level must be debug, info, warn or error, got "${opts.logLevel}"`);
          const listenAddr = parseHostPort(opts.listenAddr, '--listen-addr');
          const [flushFlag, flushText] =
            opts.flushMs === undefined ? ['--flush', opts.flush] : ['--flush-ms', opts.flushMs];
          const flushNs = parseDuration(flushText, flushFlag, 'ms');
          if (flushNs > 1e9) throw new ConfigError(`${flushFlag} must be at most 1s, got "${flushText}"`);
          const pipelineOptions = {
            maxBatch: parseCount(opts.maxBatch, '--max-batch', 1, 65536),
            flushMs: flushNs / 1e6,
            workers: parseCount(opts.workers, '--workers', 0, 64),
            queueCapacity: parseCount(opts.queueSize, '--queue-size', 1, 1 << 24),
            receiveBufferBytes: 4 << 20,
          };
          const windowNs = parseDuration(opts.delegationWindow, '--delegation-window', 's');
          if (windowNs < 60e9)
            throw new ConfigError(`--delegation-window must be at least 1m, got "${opts.delegationWindow}"`);
          const uncertaintyNs = parseDuration(opts.clockUncertainty, '--clock-uncertainty', 's');
          if (opts.keyFile !== undefined)
            checkPrivateFile(opts.keyFile, 'Roughtime key file', opts.allowInsecureKeyFile === true);
          const keys = opts.keyFile === undefined ? adHocKeys() : await loadKeyFile(opts.keyFile);
          const logger = createDiagnostics({ level: logLevel, format: 'llog', sink: stderr });
          const server = await listening('--listen-addr', listenAddr, () =>
            startRoughtimeServer({
              listenAddr,
              keys,
              clock: deps.clock ?? new SystemClock(),
              logger,
              pipelineOptions,
              delegation: { windowNs },
              clockUncertaintyNs: () => uncertaintyNs,
            }),
          );
          const publicKey = Buffer.from(server.publicKey).toString('base64');
          if (keys.adHoc)
            stderr.write(
              `WARNING: ad hoc long-term key (no --key-file): NOT FOR PRODUCTION, clients cannot know it in advance\n`,
            );
          stdout.write(`roughtime server listening on ${formatHostPort(server.address)} public key ${publicKey}\n`);
          await (deps.shutdown ?? waitForShutdown)();
          const stats = await server.close();
          stdout.write(
            `roughtime server stopped: ${toJson({ received: stats.received, answered: stats.answered, shed: stats.shed, dropped: stats.dropped, failed: stats.failed, batches: stats.batches, meanBatch: stats.meanBatch, delegations: stats.delegations, stages: stats.stages })}\n`,
          );
          setExitCode(0);
        },
      ),
  );

  return roughtime;
}
