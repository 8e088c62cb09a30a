import { Command, CommanderError, Option } from 'commander';
import { SystemClock } from '../clock/system-clock.js';
import { SaturnError } from '../errors.js';
import { SATURN_VERSION } from '../util/version.js';
import { type Sink, createDiagnostics } from '../log/diagnostics.js';
import { BufferedSink, flushAtExit } from '../log/buffered-sink.js';
import { guardedStream } from '../log/guarded-stream.js';
import { DEMO_SCENARIOS, type DemoScenarioName, runDemo } from '../demo/demo.js';
import { tuneHeapForMaster } from '../service/heap.js';
import { type RunningNode, startNode } from '../service/run-node.js';
import { type OptionLabels, type RawOptions, buildConfig, flagOf, readConfigFile } from '../config/build-config.js';
import {
  type Config,
  OPTIONS,
  OPTION_KEYS,
  type OptionKey,
  type OptionSpec,
  envName,
  optionHelp,
} from '../config/options.js';
import { parseDuration } from '../util/parse.js';
import { eventsCommand } from './events.js';
import { keygenCommand } from './keygen.js';
import { roughtimeCommand } from './roughtime.js';
import { statusCommand } from './status.js';
import { onReloadSignal, waitForShutdown } from '../service/signals.js';

export interface CliIo {
  stdout: Sink;
  stderr: Sink;
  /**
   * Called when a long-running node or demo starts: from then on a failed stdout is said on stderr
   * (the node goes on without it). Before, as in a one-shot command piped into `head`, it ends quietly.
   */
  serving?: () => void;
}

/** The node's options, built from the one table in src/config.ts: flag, help with its default, environment variable. */
function nodeOptions(): Option[] {
  return OPTION_KEYS.map((key) => {
    const spec: OptionSpec = OPTIONS[key];
    const option = new Option(spec.flag, optionHelp(spec)).env(envName(spec));
    return spec.repeatable
      ? option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
      : option;
  });
}

/** Merges argv/env (commander) over the config file, and says where each value came from. */
function rawOptions(program: Command): { raw: RawOptions; labels: OptionLabels } {
  const opts = program.opts<Record<string, unknown>>();
  const configFile = typeof opts.config === 'string' ? opts.config : undefined;
  const raw: RawOptions = configFile === undefined ? {} : readConfigFile(configFile);
  const labels: OptionLabels = {};
  for (const key of Object.keys(raw) as OptionKey[]) labels[key] = `"${key}" in ${configFile}`;
  for (const key of OPTION_KEYS) {
    const value = opts[key];
    if (typeof value !== 'string' && typeof value !== 'boolean' && !Array.isArray(value)) continue;
    raw[key] = value as string | boolean | string[];
    labels[key] = program.getOptionValueSource(key) === 'env' ? envName(OPTIONS[key]) : flagOf(key);
  }
  return { raw, labels };
}

/** Runs a master or a slave until SIGINT or SIGTERM: llog lines to `stdout`, diagnostics to `stderr`. */
async function runNode(config: Config, stdout: Sink, stderr: Sink): Promise<void> {
  const logger = createDiagnostics({ level: config.logLevel, format: config.logFormat, sink: stderr });
  const clock = new SystemClock({ offsetNs: config.clockOffsetNs });
  if (config.clockOffsetNs !== 0)
    logger.warn({ offsetMs: config.clockOffsetNs / 1e6 }, 'clock shifted by --clock-offset (testing aid)');
  for (const warning of config.warnings) logger.warn({}, warning);
  if (config.role === 'master') tuneHeapForMaster();
  // Handled from the start: a SIGHUP must never kill the node (Node's default), even during start-up.
  let node: RunningNode | undefined;
  const stopReloading = onReloadSignal(() => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the HMAC key file');
    try {
      const ids = node?.reloadKeys();
      if (node === undefined) logger.warn('still starting: nothing reloaded');
      else if (ids === undefined) logger.warn('nothing to reload: the HMAC key was not given by --hmac-key-file');
      else logger.info({ file: config.hmacKeyFile, keyIds: ids, current: ids[0] }, 'HMAC keys reloaded');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'HMAC key file not reloaded: the keys in use stay');
    }
  });
  try {
    node = await startNode(config, { clock, logger, stdout });
  } catch (err) {
    stopReloading();
    throw err;
  }
  logger.info({ role: config.role, name: config.name, keyIds: config.hmacKeys.ids }, 'started');
  const signal = await waitForShutdown();
  stopReloading();
  logger.info({ signal }, 'shutting down');
  await node.close();
}

/** The commander program: `saturn [options]` runs a master or a slave; subcommands do the rest. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('saturn')
    .description(
      "Clock-offset watchdog: a master measures every slave's clock over authenticated UDP and alerts on skew.",
    )
    .version(SATURN_VERSION)
    .showHelpAfterError(false)
    // Options after a subcommand's name are the subcommand's (`saturn status --metrics-addr` is not the node's).
    .enablePositionalOptions()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  for (const option of nodeOptions()) program.addOption(option);

  program.action(async () => {
    const { raw, labels } = rawOptions(program);
    const config = buildConfig(raw, labels);
    io.serving?.();
    // The llog stream (a line per check) goes out in one write per event-loop turn; what waits is
    // written before each diagnostic line (so `2>&1` keeps the order of what happened) and at exit.
    const stdout = new BufferedSink(io.stdout);
    const unhook = flushAtExit(stdout);
    const stderr: Sink = { write: (text: string) => (stdout.flush(), io.stderr.write(text)) };
    try {
      await runNode(config, stdout, stderr);
    } finally {
      stdout.flush();
      unhook();
    }
    setExit(0);
  });

  program
    .command('demo')
    .description('a whole mesh on loopback: a master and slaves, one clock wrong, llog alerts on screen')
    .option('--duration <duration>', 'stop after this long (default: run until Ctrl-C)')
    .option('--interval <duration>', 'time between checks (default 2s)', '2s')
    .option(
      '--metrics-addr <host:port>',
      'serve the dashboard, /status and /metrics here (default 127.0.0.1 on any free port)',
    )
    .addOption(
      new Option('--scenario <name>', 'which clock is wrong: a slave (750 ms ahead) or the master (500 ms ahead)')
        .choices(Object.keys(DEMO_SCENARIOS))
        .default('slave-wrong'),
    )
    .action(async (opts: { duration?: string; interval: string; metricsAddr?: string; scenario: DemoScenarioName }) => {
      const durationNs = opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration', 's');
      io.serving?.();
      await runDemo({
        durationNs,
        intervalNs: parseDuration(opts.interval, '--interval', 's'),
        stdout: io.stdout,
        stderr: io.stderr,
        metricsAddr: opts.metricsAddr,
        scenario: opts.scenario,
      });
      setExit(0);
    });

  program.addCommand(roughtimeCommand({ stdout: io.stdout, stderr: io.stderr, setExitCode: setExit }));
  program.addCommand(keygenCommand({ stdout: io.stdout }));
  program.addCommand(statusCommand({ stdout: io.stdout, stderr: io.stderr, setExitCode: setExit }));
  program.addCommand(eventsCommand({ stdout: io.stdout, stderr: io.stderr, setExitCode: setExit }));
  return program;
}

/** The process's stdout and stderr, guarded: a closed pipe or a full disk never ends the process. */
function processIo(): CliIo {
  let serving = false;
  const stderr = guardedStream(process.stderr, 'stderr', () => {});
  const stdout = guardedStream(process.stdout, 'stdout', (sentence) => serving && stderr.write(sentence));
  return { stdout, stderr, serving: () => (serving = true) };
}

/** Runs the CLI; resolves to the exit code. Bad configuration: one sentence on stderr, code 2. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number | undefined> {
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
    if (err instanceof SaturnError && (err.code === 'SATURN_ERR_CONFIG' || err.code === 'SATURN_ERR_STATE')) {
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
