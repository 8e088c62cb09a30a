/**
 * Writes to a process stream that survive the stream's failure. Node turns a failed write on
 * stdout or stderr (EPIPE: the reader of a pipe is gone; ENOSPC: the file it goes to is on a full
 * disk) into an 'error' event, and an unhandled one ends the process with a stack trace. A watchdog's
 * lines are one of its outputs among several (webhooks, the state dir, /status, /metrics), so the
 * node keeps running: the first failure is said once through `report`, and later writes are dropped.
 */
import type { EventEmitter } from 'node:events';
import type { Sink } from './sink.js';

/** What `guardedStream` needs of a stream: process.stdout and process.stderr are such. */
export type FailingStream = Sink & Pick<EventEmitter, 'on'>;

export function guardedStream(stream: FailingStream, name: string, report: (sentence: string) => void): Sink {
  let failed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (failed) return;
    failed = true;
    report(
      `saturn: ${name} failed (${err.code ?? err.message}): its lines are dropped from now on; ` +
        'the node keeps running (events still go to webhooks, the state dir, /status and /metrics)\n',
    );
  });
  return { write: (text: string) => (failed ? true : stream.write(text)) };
}
