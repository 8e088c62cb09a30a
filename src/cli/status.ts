/**
 * `saturn status --metrics-addr ADDR`: the mesh as a running master sees it (its /status), as a
 * table in the terminal like `chronyc sources`, or with --json as the document itself.
 * Exit codes: 0 shown, 1 the master could not be asked, 2 usage errors.
 */
import { Command, Option } from 'commander';
import type { Clock } from '../clock/clock.js';
import { SystemClock } from '../clock/system-clock.js';
import type { NodeStatus } from '../http/status.js';
import { formatHostPort, parseHostPort } from '../util/parse.js';
import type { Sink } from '../log/sink.js';

export interface StatusCommandDeps {
  stdout: Sink;
  stderr: Sink;
  setExitCode: (code: number) => void;
  /** For "last check … ago"; default the system clock. */
  clock?: Clock;
}

/** The part of /status this command reads. */
export interface StatusDocument {
  nodes: NodeStatus[];
  drops?: Record<string, number>;
}

const ms = (seconds: number | null, sign = false) =>
  seconds === null ? '-' : `${sign && seconds >= 0 ? '+' : ''}${(seconds * 1e3).toFixed(3)}ms`;

function ago(nowMs: number, iso: string | null): string {
  if (iso === null) return 'never';
  const s = Math.max(0, (nowMs - Date.parse(iso)) / 1000);
  if (s < 100) return `${Math.round(s)}s`;
  if (s < 6000) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The table: one line per node, columns aligned, `*` marking a node over threshold. */
export function formatStatusTable(doc: StatusDocument, nowMs: number): string {
  const header = ['S', 'Name', 'Address', 'Offset', '+/- Error', 'RTT', 'Checks', 'Discarded', 'Last'];
  const rows = doc.nodes.map((n) => [
    n.overThreshold ? '*' : n.offsetSeconds === null ? '?' : ' ',
    n.id,
    n.addr,
    ms(n.offsetSeconds, true),
    ms(n.errorSeconds),
    ms(n.rttSeconds),
    String(n.checks),
    String(n.discarded),
    ago(nowMs, n.lastCheckAt),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header), '='.repeat(line(header).length), ...rows.map(line)];
  const over = doc.nodes.filter((n) => n.overThreshold).length;
  out.push(
    '',
    `${doc.nodes.length} node${doc.nodes.length === 1 ? '' : 's'}, ${over} over threshold (*); offset = node clock - master clock`,
  );
  return `${out.join('\n')}\n`;
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
    .option('--timeout <ms>', 'give up after this many milliseconds', '5000')
    .action(async (opts: { metricsAddr: string; json?: boolean; timeout: string }) => {
      const addr = formatHostPort(parseHostPort(opts.metricsAddr, '--metrics-addr', '127.0.0.1'));
      const url = `http://${addr}/status`;
      let doc: StatusDocument;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(Number(opts.timeout) || 5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        doc = (await res.json()) as StatusDocument;
        if (!Array.isArray(doc.nodes)) throw new Error('the answer has no nodes list');
      } catch (err) {
        const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        deps.stderr.write(`saturn: cannot get ${url}: ${cause}\n`);
        deps.setExitCode(1);
        return;
      }
      if (opts.json) deps.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      else deps.stdout.write(formatStatusTable(doc, Number((deps.clock ?? new SystemClock()).now() / 1_000_000n)));
      deps.setExitCode(0);
    });
}
