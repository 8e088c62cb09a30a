/**
 * A durable outbox of events not yet delivered to one webhook: an append-only file of JSON lines,
 *   {"add":{...event...}}   an event to deliver
 *   {"done":17}             delivered (or rejected for good: not retried)
 *   {"drop":17}             dropped because the outbox was full
 * Every append is fsync'd before add() returns, so an event the llog stream has shown survives a
 * SIGKILL. On open the file is replayed and compacted (rewritten with the pending events only,
 * atomically), which also drops a line torn by a crash; it is compacted again whenever finished
 * records outnumber pending ones. The outbox is bounded: when full, the oldest pending event is
 * dropped and counted. Without a path it keeps the same bookkeeping in memory only.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type SaturnEvent, eventFromRecord, eventToRecord } from './event.js';
import { writeFileDurably } from './sequence-store.js';

/** Most events an outbox holds when the options do not say (--webhook-outbox-max). */
export const DEFAULT_OUTBOX_MAX = 10_000;

/** Options of an Outbox. */
export interface OutboxOptions {
  /** The file; undefined keeps the outbox in memory (lost on restart). */
  path: string | undefined;
  /** Most events pending at once; when full the oldest is dropped. Default 10 000. */
  maxPending?: number;
  /** Compact once at least this many finished records are in the file (and they outnumber pending ones). Default 1000. */
  compactAfter?: number;
}

/** What add() did. */
export interface AddResult {
  /** Events dropped to make room (0 or 1). */
  dropped: SaturnEvent[];
}

/** Pending events for one webhook, in sequence order, durable when given a path. */
export class Outbox {
  /** Events dropped because the outbox was full, since this process opened it. */
  droppedTotal = 0;
  /** Lines of the file that could not be read when it was opened (a write torn by a crash). */
  readonly unreadableLines: number;
  readonly maxPending: number;
  readonly #path: string | undefined;
  readonly #compactAfter: number;
  readonly #pending = new Map<number, SaturnEvent>(); // insertion order = sequence order
  #fd: number | undefined;
  #finishedRecords = 0;

  constructor(options: OutboxOptions) {
    const { path, maxPending = DEFAULT_OUTBOX_MAX, compactAfter = 1000 } = options;
    if (!Number.isSafeInteger(maxPending) || maxPending < 1)
      throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    this.#path = path;
    this.maxPending = maxPending;
    this.#compactAfter = compactAfter;
    this.unreadableLines = path === undefined ? 0 : this.#replay(path);
    if (path !== undefined) this.#compact();
  }

  /** Number of events waiting for delivery. */
  get depth(): number {
    return this.#pending.size;
  }

  /** The oldest pending event (lowest sequence), if any. */
  head(): SaturnEvent | undefined {
    return this.#pending.values().next().value;
  }

  /** Pending events in sequence order. */
  pending(): SaturnEvent[] {
    return [...this.#pending.values()];
  }

  /** Adds an event durably; if the outbox is full, drops the oldest pending event first. */
  add(event: SaturnEvent): AddResult {
    const dropped: SaturnEvent[] = [];
    let text = '';
    while (this.#pending.size >= this.maxPending) {
      const oldest = this.head()!;
      this.#pending.delete(oldest.sequence);
      dropped.push(oldest);
      text += `${JSON.stringify({ drop: oldest.sequence })}\n`;
    }
    this.droppedTotal += dropped.length;
    this.#finishedRecords += dropped.length;
    this.#pending.set(event.sequence, event);
    text += `${JSON.stringify({ add: eventToRecord(event) })}\n`;
    this.#append(text);
    return { dropped };
  }

  /** Marks an event finished (delivered, or rejected for good). Unknown sequences are ignored. */
  done(sequence: number): void {
    if (!this.#pending.delete(sequence)) return;
    this.#finishedRecords++;
    this.#append(`${JSON.stringify({ done: sequence })}\n`);
    if (this.#finishedRecords >= this.#compactAfter && this.#finishedRecords > this.#pending.size) this.#compact();
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #append(text: string): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, text);
    fsyncSync(this.#fd);
  }

  /** Reads the file into #pending; returns the number of lines it could not read. */
  #replay(path: string): number {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let unreadable = 0;
    const added: SaturnEvent[] = [];
    const finished = new Set<number>();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const record = JSON.parse(line) as { add?: Record<string, unknown>; done?: number; drop?: number };
        if (record.add) added.push(eventFromRecord(record.add));
        else if (Number.isSafeInteger(record.done)) finished.add(record.done!);
        else if (Number.isSafeInteger(record.drop)) finished.add(record.drop!);
        else unreadable++;
      } catch {
        unreadable++;
      }
    }
    added.sort((a, b) => a.sequence - b.sequence);
    for (const event of added) if (!finished.has(event.sequence)) this.#pending.set(event.sequence, event);
    // A bound lowered since the last run: keep the newest.
    while (this.#pending.size > this.maxPending) {
      this.#pending.delete(this.head()!.sequence);
      this.droppedTotal++;
    }
    return unreadable;
  }

  /** Rewrites the file with the pending events only (atomically), and reopens it for appending. */
  #compact(): void {
    const path = this.#path!;
    this.close();
    mkdirSync(dirname(path), { recursive: true });
    let text = '';
    for (const event of this.#pending.values()) text += `${JSON.stringify({ add: eventToRecord(event) })}\n`;
    writeFileDurably(dirname(path), basename(path), text);
    this.#finishedRecords = 0;
    this.#fd = openSync(path, 'a', 0o600);
  }
}
