/**
 * `saturn status --metrics-addr ADDR`: the mesh as a running master sees it (its /status), as a
 * table in the terminal like `chronyc sources`, or with --json as the document itself. With
 * --check it is a check for cron and Nagios-style monitors.
 *
 * Exit codes: 0 shown (with --check: every node ok); 1 with --check only: some node is over the
 * threshold, lost, pending, a falseticker or drifting too fast; 2 the master could not be asked,
 * or a usage error.
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { type MeshStatus, type NodeStatus, type StatusDocument, worstFirst } from '../http/status.js';
import { CONTROL } from '../log/llog.js';
import type { Sink } from '../log/sink.js';
import { formatHostPort, parseDuration, parseHostPort } from '../util/parse.js';

export interface StatusCommandDeps {
  stdout: Sink;
  stderr: Sink;
  setExitCode: (code: number) => void;
}

/** How long `saturn status` waits for the master when --timeout does not say. */
const DEFAULT_TIMEOUT = '5s';

const ms = (seconds: number | null, sign = false) =>
  seconds === null ? '-' : `${sign && seconds >= 0 ? '+' : ''}${(seconds * 1e3).toFixed(3)}ms`;

const ppm = (value: number | null, sign = false) =>
  value === null ? '-' : `${sign && value >= 0 ? '+' : ''}${value.toFixed(3)}`;

function ago(seconds: number): string {
  if (seconds < 100) return `${Math.round(seconds)}s`;
  if (seconds < 6000) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/**
 * The mark in the first column, as chronyc marks its sources: `x` falseticker, `*` over threshold,
 * `?` not current, `~` drifting too fast (chronyc's mark for a source too variable to trust).
 */
function mark(node: NodeStatus): string {
  switch (node.state) {
    case 'falseticker':
      return 'x';
    case 'over_threshold':
      return '*';
    case 'lost':
    case 'pending':
      return '?';
    default:
      return node.driftRateAlarm ? '~' : ' ';
  }
}

/** The table: one line per node, columns aligned, worst first. */
export function formatStatusTable(doc: StatusDocument): string {
  const header = [
    'S',
    'Name',
    'Address',
    'State',
    'Offset',
    '+/- Error',
    'Vs agreed',
    'Freq ppm',
    '+/- ppm',
    'RTT',
    'Checks',
    'Discarded',
    'Last',
  ];
  const rows = [...doc.nodes]
    .sort(worstFirst)
    .map((n) => [
      mark(n),
      printable(n.role === 'master' ? `${n.id} (master)` : n.id),
      printable(n.addr),
      n.state,
      ms(n.offsetSeconds, true),
      ms(n.errorSeconds),
      ms(n.consensusOffsetSeconds ?? null, true),
      ppm(n.frequencyPpm ?? null, true),
      ppm(n.frequencyErrorPpm ?? null),
      ms(n.rttSeconds),
      String(n.checks),
      String(n.discarded),
      ago(n.lastSeenSecondsAgo),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header), '='.repeat(line(header).length), ...rows.map(line)];
  const count = (state: NodeStatus['state']) => doc.nodes.filter((n) => n.state === state).length;
  // A falseticker (or a lost node) whose alarm is raised is over the threshold too, though its mark is x (or ?).
  const over = doc.nodes.filter((n) => n.overThreshold || n.state === 'over_threshold').length;
  const markedOtherwise = over - count('over_threshold');
  const overText = `${over} over threshold (*${markedOtherwise > 0 ? `; ${markedOtherwise} of them marked x or ?` : ''})`;
  out.push(
    '',
    `${doc.nodes.length} node${doc.nodes.length === 1 ? '' : 's'}: ${count('falseticker')} falseticker (x), ${overText}, ` +
      `${count('lost')} lost and ${count('pending')} pending (?), ${doc.nodes.filter((n) => n.driftRateAlarm).length} drifting too fast (~); ` +
      'offset = node clock - master clock, freq = how fast it grows',
  );
  if (doc.mesh && doc.mesh.peers > 0) out.push(meshLine(doc.mesh));
  return `${out.join('\n')}\n`;
}

/**
 * A name as a terminal may show it: control characters (a newline would break the table, an
 * escape sequence would reach the terminal, a bidirectional override would reorder the row) are
 * written as JSON escapes.
 */
function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line on the mesh's vote: who agrees, the agreed time, who is named. */
function meshLine(mesh: MeshStatus): string {
  if (mesh.of < 3)
    return `mesh: ${mesh.of} clock${mesh.of === 1 ? '' : 's'} with an estimate, too few to vote (3 needed)`;
  if (!mesh.majority)
    return `mesh: NO MAJORITY, at most ${mesh.agree} of ${mesh.of} clocks agree; offsets are judged against the master`;
  const names = mesh.falsetickers.length === 0 ? 'none' : mesh.falsetickers.map(printable).join(', ');
  return (
    `mesh: ${mesh.agree} of ${mesh.of} clocks agree; agreed time = master clock ${ms(mesh.agreedOffsetSeconds, true)}; ` +
    `falsetickers: ${names}; vs agreed = node clock - agreed time`
  );
}

/** Whether every node is in a state a check accepts, and none drifts too fast. */
export function allOk(doc: StatusDocument): boolean {
  return doc.nodes.every((n) => n.state === 'ok' && !n.driftRateAlarm);
}

/** The `status` subcommand. */
export function statusCommand(deps: StatusCommandDeps): Command {
  return new Command('status')
    .configureOutput({ writeOut: (s) => void deps.stdout.write(s), writeErr: (s) => void deps.stderr.write(s) })
    .description("show the mesh as a running master sees it (its /status), like 'chronyc sources'")
    .addOption(
      new Option('--metrics-addr <host:port>', "the master's --metrics-addr")
        .env('SATURN_METRICS_ADDR')
        .makeOptionMandatory(),
    )
    .option('--json', 'print the /status document as JSON')
    .option('--check', 'exit 0 only if every node is ok, 1 if some node is not, 2 if the master cannot be asked')
    .option(
      '--timeout <duration>',
      `give up on the master after this long; bare number = ms (default ${DEFAULT_TIMEOUT})`,
    )
    .action(async (opts: { metricsAddr: string; json?: boolean; check?: boolean; timeout?: string }) => {
      const addr = formatHostPort(parseHostPort(opts.metricsAddr, '--metrics-addr', '127.0.0.1'));
      const timeoutNs = parseDuration(opts.timeout ?? DEFAULT_TIMEOUT, '--timeout', 'ms');
      if (timeoutNs < 1e6) throw new ConfigError(`--timeout must be at least 1ms, got "${opts.timeout}"`);
      const url = `http://${addr}/status`;
      let doc: StatusDocument;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutNs / 1e6) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        doc = (await res.json()) as StatusDocument;
        if (!Array.isArray(doc.nodes)) throw new Error('the answer has no nodes list');
      } catch (err) {
        const error = err as Error & { cause?: { code?: string } };
        const reason =
          error.name === 'TimeoutError'
            ? `no answer within ${opts.timeout ?? DEFAULT_TIMEOUT}`
            : (error.cause?.code ?? error.message);
        deps.stderr.write(`saturn: cannot get ${url}: ${reason}\n`);
        deps.setExitCode(2);
        return;
      }
      if (opts.json) deps.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      else deps.stdout.write(formatStatusTable(doc));
      deps.setExitCode(opts.check && !allOk(doc) ? 1 : 0);
    });
}
