/**
 * The llog line format of the original tool (levenlabs/go-llog), which its users' log pipelines parse:
 *   ~ LEVEL -- message -- key="value" key2="value2"
 * Keys sorted (code-unit order, as Go's byte order for ASCII keys); no " -- " part without fields.
 * Differences from go-llog, on purpose: `"` is escaped as \" (go-llog replaced it with '), and
 * non-ASCII text stays as is (go-llog wrote \u escapes). Control characters are escaped everywhere
 * so one event is always one line.
 */

import { isoNanos } from '../clock/clock.js';
import type { Sink } from './sink.js';

/** llog severities saturn writes. */
export type LlogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A field value; undefined fields are left out of the line. */
export type LlogValue = string | number | bigint | boolean | undefined;

/** Fields of one line. */
export type LlogFields = Readonly<Record<string, LlogValue>>;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0, DEL, C1), the JS line separators, the bidirectional controls (marks,
 * embeddings, overrides, isolates) and the characters that show as nothing (soft hyphen, zero
 * widths, word joiner, invisible operators, the byte order mark): anything that could split a line,
 * garble or reorder how it reads (a name holding U+202E shows the rest of its line backwards), or
 * make two names look alike ("web-1" and "web-1" with a zero-width space). Shared with other text a
 * terminal shows (`saturn status`).
 */
export const CONTROL =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

function escapeControl(ch: string): string {
  return NAMED_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Text outside quotes (message, keys): only control characters are escaped. */
function escapeBare(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** A value inside double quotes: backslash and quote escaped, then control characters. */
function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (ch) => `\\${ch}`).replace(CONTROL, escapeControl)}"`;
}

function valueText(value: string | number | bigint | boolean): string {
  return typeof value === 'number' ? plainDecimal(value) : String(value);
}

/** One llog line, without the trailing newline. */
export function formatLlog(level: LlogLevel, message: string, fields: LlogFields = {}): string {
  let line = `~ ${level} -- ${escapeBare(message)}`;
  const keys = Object.keys(fields)
    .filter((key) => fields[key] !== undefined)
    .sort();
  if (keys.length === 0) return line;
  line += ' --';
  for (const key of keys)
    line += ` ${escapeBare(key)}=${quote(valueText(fields[key] as string | number | bigint | boolean))}`;
  return line;
}

/**
 * The shortest decimal that reads back as the same float64, never in exponent notation
 * (Go's strconv.FormatFloat(x, 'f', -1, 64)): 1e-7 -> "0.0000001", 1e21 -> "1000000000000000000000".
 * -0 prints as "0"; NaN and ±Infinity as Go prints them ("NaN", "+Inf", "-Inf").
 */
export function plainDecimal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return '0';
  // toExponential() without digits gives the shortest round-trip digits: "d.ddde±k".
  const [mantissa = '', exponentText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const pointAt = Number(exponentText) + 1; // digits before the decimal point
  let text: string;
  if (pointAt <= 0) text = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) text = digits + '0'.repeat(pointAt - digits.length);
  else text = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return x < 0 ? `-${text}` : text;
}

/** Nanoseconds as the original printed offsets: milliseconds, shortest plain decimal (-4984391.125 -> "-4.984391125"). */
export function nsToMillisText(ns: number): string {
  // Division by 1e6 is correctly rounded; multiplying by 1e-6 would add a rounding step (1e-6 is inexact).
  return plainDecimal(ns / 1e6);
}

/** How stdout lines are written: the original's llog lines, or JSON lines for log shippers. */
export type StdoutFormat = 'llog' | 'json';
export const STDOUT_FORMATS: readonly StdoutFormat[] = ['llog', 'json'];

/**
 * Writes lines, one per call, each ending in "\n", to an injected sink (stdout in production): llog
 * lines, or with format `json` one JSON object per line, `{"time":…,"level":…,"msg":…,…fields}`
 * (time in RFC 3339 with nanoseconds when the caller passes the instant the line is about).
 */
export class LlogWriter {
  readonly format: StdoutFormat;
  readonly #sink: Sink;

  constructor(sink: Sink, format: StdoutFormat = 'llog') {
    this.#sink = sink;
    this.format = format;
  }

  /** Formats and writes one line; `at` (wall ns) is the time it is about (JSON lines show it). */
  line(level: LlogLevel, message: string, fields: LlogFields = {}, at?: bigint): void {
    if (this.format === 'llog') {
      this.#sink.write(`${formatLlog(level, message, fields)}\n`);
      return;
    }
    const record: Record<string, unknown> = at === undefined ? {} : { time: isoNanos(at) };
    record.level = level;
    record.msg = message;
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) record[key] = typeof value === 'bigint' ? value.toString() : value;
    this.json(record);
  }

  /** Writes one JSON line as given (events in the JSON format build their own). */
  json(record: Readonly<Record<string, unknown>>): void {
    this.#sink.write(`${JSON.stringify(record)}\n`);
  }
}
