import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** A UDP/TCP endpoint as given on the command line. */
export interface HostPort {
  host: string;
  port: number;
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A bare number, as a Go float flag reads it (the original tool's options were such flags): `5000`, `1.5`, `1e3`. */
const BARE_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** One part of a duration with a unit, as Go's time.ParseDuration reads them: `1h`, `30m`, `1.5s`. */
const DURATION_PART = /\s*(\d+\.?\d*|\.\d+)\s*(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a duration such as `250ms`, `1.5s`, `2m`, `1h30m` or `-3s` into nanoseconds. A bare number
 * (`5000`, `1e3`) takes `bareUnit`, as the original tool's flags did (threshold in ms, interval in s).
 */
export function parseDuration(text: string, what: string, bareUnit: 'ms' | 's', allowNegative = false): number {
  const trimmed = text.trim();
  let value = Number.NaN;
  if (BARE_NUMBER.test(trimmed)) value = Number(trimmed) * UNIT_NS[bareUnit]!;
  else {
    const sign = trimmed.startsWith('-') ? -1 : 1;
    let at = trimmed.startsWith('-') || trimmed.startsWith('+') ? 1 : 0;
    let parts = 0;
    let sum = 0;
    while (at < trimmed.length) {
      DURATION_PART.lastIndex = at;
      const part = DURATION_PART.exec(trimmed);
      if (!part) break;
      sum += Number(part[1]) * UNIT_NS[part[2]!]!;
      at = DURATION_PART.lastIndex;
      parts++;
    }
    if (parts > 0 && at === trimmed.length) value = sign * sum;
  }
  if (Number.isNaN(value)) throw new ConfigError(`${what} must be a duration such as 250ms, 1.5s or 2m, got "${text}"`);
  if (!Number.isFinite(value)) throw new ConfigError(`${what} is out of range: "${text}"`);
  if (value < 0 && !allowNegative) throw new ConfigError(`${what} must not be negative, got "${text}"`);
  return Math.round(value);
}

/** Parses `host:port`, `[v6]:port` or `:port` (host defaults to `defaultHost`). */
export function parseHostPort(text: string, what: string, defaultHost = '0.0.0.0'): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`${what} must be host:port (e.g. 127.0.0.1:4123), got "${text}"`);
  const host = match[1] ?? (match[2] || defaultHost);
  if (match[1] && isIP(match[1]) !== 6) throw new ConfigError(`${what} has an invalid IPv6 address: "${text}"`);
  return { host, port };
}

/** Formats a HostPort back to text, bracketing IPv6. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses a positive integer option. */
export function parseCount(text: string | number, what: string, min: number, max: number): number {
  // Decimal digits only: Number() would take '' as 0 and '0x3' as 3.
  const value = typeof text === 'number' ? text : /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${what} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Nanoseconds as duration text in the largest unit that keeps it whole (600e9 -> "10m", 1.5e9 -> "1500ms"). */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  for (const unit of ['h', 'm', 's', 'ms', 'us'] as const) {
    const value = ns / UNIT_NS[unit]!;
    if (Number.isInteger(value)) return `${value}${unit}`;
  }
  return `${ns}ns`;
}
