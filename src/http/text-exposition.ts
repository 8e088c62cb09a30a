/**
 * Metric families with a series per node, written straight as Prometheus text (format 0.0.4) in
 * exactly the form prom-client gives them. At 10,000 nodes these are ~360,000 lines and 24 MB:
 * set through prom-client gauges at scrape time (a label object hashed per value, then formatted
 * again), one scrape took 2.5-3.5 s of the master's main thread and 150 MB, long enough to lose
 * checks in flight. Here each node's label text is built once per scrape, each line is written
 * into a buffer as it is made (a string per line that dies young; joining 360,000 strings cost
 * 4-5 times more, most of it in the garbage collector), and the writer yields to the event loop
 * between slices of items, so checks keep being answered while a large scrape is written.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** One family: its header and, for each item read at scrape time, its sample lines. */
export interface TextFamily<T> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  /** The items this family writes lines for, read once per scrape. */
  items(): readonly T[];
  /** Writes the lines of one item. */
  write(item: T, out: TextWriter): void;
}

/** Sample lines written between two yields to the event loop: 1-3 ms of work. */
export const LINES_PER_SLICE = 4_000;

/** Bytes of each buffer the text is written into. */
const CHUNK_BYTES = 1 << 20;

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

/** UTF-8 text written into a list of buffers. */
export class TextWriter {
  readonly #chunks: Buffer[] = [];
  #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  /** Sample lines written so far. */
  lines = 0;

  /** Appends `text` as UTF-8. */
  text(text: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8; a text too long for any chunk gets a buffer of its own.
    if (this.#used + 3 * text.length > this.#buffer.length) {
      this.#chunks.push(this.#buffer.subarray(0, this.#used));
      this.#buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, 3 * text.length));
      this.#used = 0;
    }
    this.#used += this.#buffer.write(text, this.#used, 'utf8');
  }

  /** One sample line: `name{labels} value` (`labels` already escaped and comma-joined; may be empty). */
  sample(name: string, labels: string, value: number): void {
    this.lines++;
    this.text(labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`);
  }

  /** Everything written, in order (not joined: copying 24 MB into one buffer cost ~100 ms a scrape). */
  finish(): Buffer[] {
    this.#chunks.push(this.#buffer.subarray(0, this.#used));
    return this.#chunks;
  }
}

/**
 * Writes the families one after the other (HELP, TYPE, lines, and a blank line between families,
 * as prom-client's registry does), yielding to the event loop after every LINES_PER_SLICE lines or so (at an item's end),
 * then `tail` (the rest of the exposition). A family with no items still gets its HELP and TYPE,
 * as prom-client gives a labelled gauge with no series.
 */
export async function renderFamilies(families: readonly TextFamily<any>[], tail = ''): Promise<Buffer[]> {
  const out = new TextWriter();
  let yieldAt = LINES_PER_SLICE;
  for (const family of families) {
    out.text(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`);
    out.text(`# TYPE ${family.name} ${family.type}\n`);
    for (const item of family.items()) {
      family.write(item, out);
      if (out.lines >= yieldAt) {
        yieldAt = out.lines + LINES_PER_SLICE;
        await nextTurn();
      }
    }
    out.text('\n');
  }
  out.text(tail);
  return out.finish();
}
