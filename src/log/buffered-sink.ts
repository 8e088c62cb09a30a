/**
 * Lines gathered and written in one write per event-loop turn. A master at 10,000 slaves prints a
 * line per check, 1,000 a second; to a pipe (synchronous in Node on Linux) each write is a system
 * call, measured at 6% of the master's busy time. Writes are appended in order and handed on
 * together after the turn's I/O phase (setImmediate: an I/O phase, not a timer), or at once when
 * `maxBytes` are waiting; `flush()` hands on what waits now (before exit, and before a line of
 * another stream that may share the same file, so `2>&1` keeps the order of what happened).
 */
import type { Sink } from './sink.js';

/** Bytes (UTF-16 code units) gathered before they are written at once rather than at the turn's end. */
export const DEFAULT_FLUSH_BYTES = 64 * 1024;

export class BufferedSink implements Sink {
  readonly #sink: Sink;
  readonly #maxBytes: number;
  #pending = '';
  #scheduled = false;

  constructor(sink: Sink, maxBytes = DEFAULT_FLUSH_BYTES) {
    if (!(Number.isInteger(maxBytes) && maxBytes >= 1))
      throw new RangeError(`maxBytes must be an integer >= 1, got ${maxBytes}`);
    this.#sink = sink;
    this.#maxBytes = maxBytes;
  }

  /** Appends `text`; it reaches the sink at the end of this turn, or now when enough waits. */
  write(text: string): boolean {
    this.#pending += text;
    if (this.#pending.length >= this.#maxBytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onTurnEnd);
    }
    return true;
  }

  /** Hands everything waiting to the sink in one write (nothing when nothing waits). */
  flush(): void {
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#sink.write(text);
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}

/**
 * Writes what `sink` holds when the process exits: process.exit(), an uncaught exception, or the
 * event loop running dry (the 'exit' event; the sink's target must write synchronously then, as
 * stdout to a file or a pipe does on Linux). Returns what removes the hook.
 */
export function flushAtExit(sink: BufferedSink): () => void {
  const flush = () => sink.flush();
  process.on('exit', flush);
  return () => void process.off('exit', flush);
}
