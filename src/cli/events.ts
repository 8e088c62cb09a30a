/**
 * `saturn events list|replay --state-dir DIR`: what a state dir holds (undelivered events per
 * outbox, dead letters), and sending the dead letters again to a webhook. Both read the state dir
 * while a node runs on it: list changes nothing, replay only appends to its own file.
 * Exit codes: 0 done, 1 a replayed event was not delivered, 2 usage or state-dir errors.
 */
import { Command } from 'commander';
import { isoNanos } from '../clock/clock.js';
import { SystemClock } from '../clock/system-clock.js';
import { ConfigError } from '../errors.js';
import type { DeadLetter } from '../events/dead-letters.js';
import { parseWebhookFormat, parseWebhookSpec } from '../events/formats.js';
import { replayDeadLetters } from '../events/replay.js';
import { type StateDirScan, scanStateDir } from '../events/state-dir.js';
import { nodeStateFs } from '../events/state-fs.js';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../events/webhook.js';
import type { Sink } from '../log/sink.js';
import { parseDuration } from '../util/parse.js';

export interface EventsCommandDeps {
  stdout: Sink;
  stderr: Sink;
  setExitCode: (code: number) => void;
}

/** The --state-dir of `events <command>`; main prefixes its errors with "saturn: ". */
function requireStateDir(dir: string | undefined, command: 'list' | 'replay'): string {
  if (dir === undefined || dir === '') throw new ConfigError(`events ${command} needs --state-dir DIR`);
  return dir;
}

const about = (letter: DeadLetter) =>
  `#${letter.event.sequence} ${letter.event.kind}${letter.event.node ? ` ${letter.event.node.id}` : ''}`;

/** The state dir as text: one line per outbox and per dead letter. */
export function formatStateDir(dir: string, scan: StateDirScan): string {
  const reserved =
    scan.sequenceFile === undefined
      ? 'no sequence file'
      : `sequence file: numbers up to ${scan.sequenceFile - 1} reserved, the next start numbers from ${Math.max(scan.sequenceFile, scan.high + 1)}`;
  const lines = [`state dir ${dir}: highest event sequence ${scan.high} in outboxes and dead letters; ${reserved}`];
  lines.push(scan.outboxes.length === 0 ? 'no webhook outboxes' : 'webhook outboxes:');
  for (const outbox of scan.outboxes) {
    const seqs = outbox.pending.map((e) => e.sequence);
    const range = seqs.length === 0 ? '' : ` (${seqs[0]}${seqs.length > 1 ? `-${seqs.at(-1)}` : ''})`;
    lines.push(`  ${outbox.file}  ${seqs.length} undelivered${range}`);
  }
  const { letters } = scan.deadLetters;
  const waiting = letters.filter((l) => !l.replayed).length;
  lines.push(letters.length === 0 ? 'no dead letters' : `dead letters: ${letters.length}, ${waiting} not replayed`);
  for (const l of letters) {
    const status = l.status === undefined ? '' : ` (HTTP ${l.status})`;
    lines.push(
      `  ${about(l)}  rejected by ${l.target}${status} at ${isoNanos(l.at)}: ${l.reason}${l.replayed ? '  [replayed]' : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The state dir as a JSON document. */
function stateDirJson(scan: StateDirScan): Record<string, unknown> {
  return {
    high: scan.high,
    sequenceFile: scan.sequenceFile ?? null,
    outboxes: scan.outboxes.map((o) => ({ file: o.file, undelivered: o.pending.map((e) => e.sequence), high: o.high })),
    deadLetters: scan.deadLetters.letters.map((l) => ({
      sequence: l.event.sequence,
      kind: l.event.kind,
      node: l.event.node?.id ?? null,
      webhook: l.webhook,
      target: l.target,
      status: l.status ?? null,
      reason: l.reason,
      at: isoNanos(l.at),
      replayed: l.replayed,
    })),
  };
}

/** The `events` command and its subcommands. */
export function eventsCommand(deps: EventsCommandDeps): Command {
  const configure = (command: Command): Command =>
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => void deps.stdout.write(s), writeErr: (s) => void deps.stderr.write(s) });
  const events = configure(new Command('events').description('what a state dir holds, and replaying dead letters'));
  const list = configure(new Command('list'))
    .description('undelivered webhook events and dead letters in a state dir')
    .option('--state-dir <dir>', 'the state dir of a node (--state-dir)')
    .option('--json', 'print a JSON document')
    .action(async (opts: { stateDir?: string; json?: boolean }) => {
      const dir = requireStateDir(opts.stateDir, 'list');
      const scan = await scanStateDir(nodeStateFs, dir);
      deps.stdout.write(opts.json ? `${JSON.stringify(stateDirJson(scan))}\n` : formatStateDir(dir, scan));
      deps.setExitCode(0);
    });
  const replay = configure(new Command('replay'))
    .description('send the dead letters of a state dir again, oldest first, with their Idempotency-Keys')
    .option('--state-dir <dir>', 'the state dir of a node (--state-dir)')
    .option('--webhook-url <[format=]url>', 'where to send them; a json=, slack= or alertmanager= prefix sets the body')
    .option('--webhook-format <format>', 'body format without a prefix: json, slack or alertmanager', 'json')
    .option('--from <url>', 'only those rejected by this webhook URL')
    .option('--sequence <n>', 'only this event (repeatable)', (value: string, previous: number[] = []) => [
      ...previous,
      Number(value),
    ])
    .option(
      '--webhook-timeout <duration>',
      'timeout of one request; bare number = seconds',
      `${DEFAULT_WEBHOOK_TIMEOUT_MS}ms`,
    )
    .action(
      async (opts: {
        stateDir?: string;
        webhookUrl?: string;
        webhookFormat: string;
        from?: string;
        sequence?: number[];
        webhookTimeout: string;
      }) => {
        const stateDir = requireStateDir(opts.stateDir, 'replay');
        if (opts.webhookUrl === undefined) throw new ConfigError('events replay needs --webhook-url URL');
        const webhook = parseWebhookSpec(
          opts.webhookUrl,
          parseWebhookFormat(opts.webhookFormat, '--webhook-format'),
          '--webhook-url',
        );
        if (opts.sequence?.some((n) => !Number.isSafeInteger(n) || n < 1))
          throw new ConfigError('--sequence must be a positive integer');
        const report = await replayDeadLetters(
          {
            stateDir,
            url: webhook.url,
            format: webhook.format,
            timeoutMs: parseDuration(opts.webhookTimeout, '--webhook-timeout', 's') / 1e6,
            from: opts.from,
            sequences: opts.sequence,
          },
          {
            clock: new SystemClock(),
            onDelivered: (letter) => deps.stdout.write(`replayed ${about(letter)}\n`),
          },
        );
        deps.stdout.write(`${report.delivered.length} replayed, ${report.remaining} left\n`);
        if (report.failed) {
          const { letter, outcome } = report.failed;
          const why = outcome.kind === 'retry' ? outcome.message : outcome.kind === 'rejected' ? outcome.message : '';
          deps.stderr.write(
            `saturn: ${about(letter)} was not delivered (${why}); the rest waits for the next replay\n`,
          );
          deps.setExitCode(1);
          return;
        }
        deps.setExitCode(0);
      },
    );
  return events.addCommand(list).addCommand(replay);
}
