import { pino, type Logger } from 'pino';
import { type LlogLevel, formatLlog } from './llog.js';

export type { Logger };

/** Diagnostics formats: llog lines (the original tool's) or pino's JSON. */
export type LogFormat = 'llog' | 'json';
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

import type { Sink } from './sink.js';

export type { Sink };

const LLOG_LEVELS: Record<number, LlogLevel> = {
  10: 'DEBUG',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'ERROR',
};

/**
 * A pino destination that re-renders each JSON record as an llog line, so operators who chose
 * `--log-format llog` read one format everywhere. Diagnostics are rare, so parsing is cheap enough.
 */
function llogDestination(sink: Sink): Sink {
  return {
    write(json: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(json) as Record<string, unknown>;
      } catch {
        return sink.write(json);
      }
      const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = record;
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(fields)) flat[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return sink.write(`${formatLlog(LLOG_LEVELS[level as number] ?? 'INFO', String(msg ?? ''), flat)}\n`);
    },
  };
}

/** The diagnostics logger (pino). Diagnostics go to stderr; stdout carries the llog event stream. */
export function createDiagnostics(options: { level: LogLevel; format: LogFormat; sink?: Sink }): Logger {
  const sink = options.sink ?? process.stderr;
  const destination = options.format === 'llog' ? llogDestination(sink) : sink;
  return pino({ level: options.level, base: undefined }, destination as pino.DestinationStream);
}
