import { Command, CommanderError, Option } from 'commander';
import { SystemClock } from '../clock/system-clock.js';
import { ConfigError } from '../errors.js';
import { type Sink, createDiagnostics } from '../log/diagnostics.js';
import { runDemo } from '../service/demo.js';
import { startNode } from '../service/run-node.js';
import { type RawOptions, OPTION_KEYS, buildConfig, readConfigFile } from './config.js';
import { parseDuration } from '../util/parse.js';
import { keygenCommand } from './keygen.js';
import { roughtimeCommand } from './roughtime.js';
import { statusCommand } from './status.js';
import { waitForShutdown } from './shutdown.js';

export interface CliIo {
  stdout: Sink;
  stderr: Sink;
}

const NODE_OPTIONS: Option[] = [
  new Option('--master-addr <host:port>', 'run as a slave of this master (without it: run as the master)'),
  new Option('--listen-addr <host:port>', 'UDP address to listen on (default 0.0.0.0:4123)'),
  new Option('--hmac-key <key>', 'shared key, at least 16 bytes (prefer --hmac-key-file: argv is visible in ps)'),
  new Option('--hmac-key-file <file>', 'read the shared key from a file (a trailing newline is ignored)'),
  new Option('--name <name>', "this node's name (default: the host name)"),
  new Option('--rounds <n>', 'samples per check, master only (default 5)'),
  new Option('--threshold <duration>', 'alert when |offset| - error exceeds this; bare number = ms (default 100ms)'),
  new Option('--interval <duration>', 'time between checks, slave; bare number = seconds (default 10s)'),
  new Option(
    '--realert <duration>',
    'repeat an alert this often while over threshold; bare number = seconds (default 10m)',
  ),
  new Option('--metrics-addr <host:port>', 'serve HTTP /status and /healthz on this address (master)'),
  new Option('--log-level <level>', 'debug, info, warn or error (default info)'),
  new Option('--log-format <format>', 'diagnostics format on stderr: llog or json (default llog)'),
  new Option('--clock-offset <duration>', "TESTING AID: shift this node's clock, e.g. 750ms or -2s; bare number = ms"),
  new Option(
    '--roughtime-server <host:port=BASE64KEY>',
    "check this node's clock against a Roughtime server (repeatable)",
  ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
  new Option('--roughtime-servers <file>', "Roughtime servers to check against, in the ecosystem's JSON list format"),
  new Option('--roughtime-listen <host:port>', 'also serve Roughtime on this UDP address'),
  new Option(
    '--roughtime-key-file <file>',
    'long-term key for --roughtime-listen (saturn keygen writes one; default: an ad hoc key, not for production)',
  ),
  new Option('--roughtime-interval <duration>', 'time between Roughtime checks; bare number = seconds (default 5m)'),
  new Option(
    '--state-dir <dir>',
    'keep event sequence numbers and undelivered webhook events here, across restarts (default: memory only)',
  ),
  new Option('--webhook-url <url>', 'POST every event to this URL (repeatable)').argParser(
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  ),
  new Option('--webhook-format <format>', 'webhook body: json, slack or alertmanager (default json)'),
  new Option('--webhook-timeout <duration>', 'timeout of one webhook request; bare number = seconds (default 5s)'),
  new Option(
    '--webhook-outbox-max <n>',
    'most undelivered events kept per webhook; beyond it the oldest are dropped (default 10000)',
  ),
  new Option('--config <file>', 'JSON file with the same keys as the options (kebab-case or camelCase)'),
];

function envName(flag: string): string {
  return `SATURN_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Merges argv/env (commander) over the config file, then validates. */
function rawOptions(opts: Record<string, unknown>): RawOptions {
  const fromFile = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
  const raw: RawOptions = { ...fromFile };
  for (const key of OPTION_KEYS) {
    const value = opts[key];
    if (typeof value === 'string' || Array.isArray(value)) raw[key] = value as string | string[];
  }
  return raw;
}

/** The commander program: `saturn [options]` runs a master or a slave; subcommands do the rest. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('saturn')
    .description(
      "Clock-offset watchdog: a master measures every slave's clock over authenticated UDP and alerts on skew.",
    )
    .version('0.1.0')
    .showHelpAfterError(false)
    // Options after a subcommand's name are the subcommand's (`saturn status --metrics-addr` is not the node's).
    .enablePositionalOptions()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  for (const option of NODE_OPTIONS) program.addOption(option.env(envName(option.long!)));

  program.action(async (opts: Record<string, unknown>) => {
    const config = buildConfig(rawOptions(opts));
    const logger = createDiagnostics({ level: config.logLevel, format: config.logFormat, sink: io.stderr });
    const clock = new SystemClock({ offsetNs: config.clockOffsetNs });
    if (config.clockOffsetNs !== 0)
      logger.warn({ offsetMs: config.clockOffsetNs / 1e6 }, 'clock shifted by --clock-offset (testing aid)');
    const node = await startNode(config, { clock, logger, events: io.stdout });
    const signal = await waitForShutdown();
    logger.info({ signal }, 'shutting down');
    await node.close();
    setExit(0);
  });

  program
    .command('demo')
    .description('a whole mesh on loopback: a master, three slaves (one with a shifted clock), llog alerts on screen')
    .option('--duration <duration>', 'stop after this long (default: run until Ctrl-C)')
    .option('--interval <duration>', 'time between checks (default 2s)', '2s')
    .option(
      '--metrics-addr <host:port>',
      'serve the dashboard, /status and /metrics here (default 127.0.0.1 on any free port)',
    )
    .action(async (opts: { duration?: string; interval: string; metricsAddr?: string }) => {
      const durationNs = opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration', 's');
      await runDemo({
        durationNs,
        intervalNs: parseDuration(opts.interval, '--interval', 's'),
        stdout: io.stdout,
        stderr: io.stderr,
        metricsAddr: opts.metricsAddr,
      });
      setExit(0);
    });

  program.addCommand(roughtimeCommand({ stdout: io.stdout, stderr: io.stderr, setExitCode: setExit }));
  program.addCommand(keygenCommand({ stdout: io.stdout }));
  program.addCommand(statusCommand({ stdout: io.stdout, stderr: io.stderr, setExitCode: setExit }));
  return program;
}

/** Runs the CLI; resolves to the exit code. Bad configuration: one sentence on stderr, code 2. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number | undefined> {
  let code: number | undefined;
  const program = buildProgram(io, (c) => (code = c));
  program.exitOverride();
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message; help and --version are not errors.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`saturn: ${err.message}\n`);
      return 2;
    }
    if (
      err instanceof Error &&
      'code' in err &&
      typeof err.code === 'string' &&
      err.code.startsWith('E') &&
      'syscall' in err
    ) {
      io.stderr.write(`saturn: cannot ${String(err.syscall)}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return code ?? (process.exitCode as number | undefined);
}
