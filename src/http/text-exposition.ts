/**
 * Metric families with a series per node, written straight as Prometheus text (format 0.0.4) in
 * exactly the form prom-client gives them. At 10,000 nodes these are ~360,000 lines and 25 MB:
 * set through prom-client gauges at scrape time (a label object hashed per value, then formatted
 * again), one scrape took 2-3.5 s of the master's main thread and 150 MB, long enough to stall
 * every check in flight. Here each node's label text is built once per scrape, every line is one
 * template string, and the writer yields to the event loop between slices of items, so checks
 * keep being answered while a large scrape is written.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** One family: its header and, for each item read at scrape time, its sample lines. */
export interface TextFamily<T> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  /** The items this family writes lines for, read once per scrape. */
  items(): readonly T[];
  /** Appends the complete lines (each ending in "\n") of one item to `out`. */
  write(item: T, out: string[]): void;
}

/** Items written between two yields to the event loop: about 5 ms of work at 10,000 nodes. */
export const ITEMS_PER_SLICE = 2_000;

/** `\`, newline and `"` escaped, as Prometheus reads a label value (and prom-client writes one). */
export function escapeLabelValue(value: string): string {
  return /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** A sample value as prom-client writes it: NaN, +Inf, -Inf or JavaScript's shortest form. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/** One sample line: `name{labels} value\n` (`labels` already escaped and comma-joined; may be empty). */
export function sampleLine(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`;
}

/**
 * Writes the families one after the other (HELP, TYPE, lines, and a blank line between families,
 * as prom-client's registry does), yielding to the event loop after every ITEMS_PER_SLICE items.
 * A family with no items still gets its HELP and TYPE, as prom-client gives an empty gauge.
 */
export async function renderFamilies(families: readonly TextFamily<any>[]): Promise<string> {
  const out: string[] = [];
  let sinceYield = 0;
  for (const family of families) {
    out.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`);
    out.push(`# TYPE ${family.name} ${family.type}\n`);
    for (const item of family.items()) {
      family.write(item, out);
      if (++sinceYield >= ITEMS_PER_SLICE) {
        sinceYield = 0;
        await nextTurn();
      }
    }
    out.push('\n');
  }
  return out.join('');
}
