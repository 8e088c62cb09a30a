/**
 * A durable outbox of events not yet delivered to one webhook: an append-only file of JSON lines,
 *   {"add":{...event...}}   an event to deliver
 *   {"done":17}             delivered (or rejected for good: not retried)
 *   {"drop":17}             dropped because the outbox was full
 *   {"high":17}             the highest sequence the outbox ever held (first line after compaction)
 * A group of events is appended with one write and one fsync (`append`), off the main thread: the
 * journal does that before an event is shown or delivered, so what the llog stream has shown
 * survives a SIGKILL. `done` records are not fsync'd on their own (a lost one means a second
 * delivery with the same Idempotency-Key). On open the file is replayed and compacted (rewritten
 * with the pending events only, atomically), which also drops a line torn by a crash; it is
 * compacted again whenever finished records outnumber pending ones. The outbox is bounded: when
 * full, the oldest pending event is dropped and counted. Without a path it keeps the same
 * bookkeeping in memory only.
 */
import type { Logger } from '../log/diagnostics.js';
import { type SaturnEvent, eventFromRecord, eventToRecord } from './event.js';
import { AppendLog, Serial } from './append-log.js';
import { type StateFs, errorCode, nodeStateFs } from './state-fs.js';

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
  /** The file system (tests inject faults). Default node:fs/promises. */
  fs?: StateFs;
  /** Told when a compaction fails (the outbox keeps appending to the file it has). */
  logger?: Logger;
}

/** What append() did. */
export interface AppendResult {
  /** Events dropped to make room (the oldest pending, or of the group itself). */
  dropped: SaturnEvent[];
}

/** Pending events for one webhook, in sequence order, durable when given a path. */
export class Outbox {
  /** Events dropped because the outbox was full, since this process opened it. */
  droppedTotal = 0;
  /** Lines of the file that could not be read when it was opened (a write torn by a crash). */
  readonly unreadableLines: number;
  readonly maxPending: number;
  readonly #compactAfter: number;
  readonly #logger: Logger | undefined;
  readonly #log: AppendLog | undefined;
  /** Compact once this many finished records are in the file (raised after a compaction fails). */
  #compactAt: number;
  readonly #serial = new Serial();
  readonly #pending = new Map<number, SaturnEvent>(); // insertion order = sequence order
  /** The highest sequence this outbox has held: appends at or below it are already in. */
  #high = 0;
  #finishedRecords = 0;

  private constructor(options: OutboxOptions, log: AppendLog | undefined, unreadableLines: number) {
    const { maxPending = DEFAULT_OUTBOX_MAX, compactAfter = 1000 } = options;
    this.maxPending = maxPending;
    this.#compactAfter = compactAfter;
    this.#compactAt = compactAfter;
    this.#logger = options.logger;
    this.#log = log;
    this.unreadableLines = unreadableLines;
  }

  /** Opens the outbox: replays and compacts its file (if any). */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const { maxPending = DEFAULT_OUTBOX_MAX } = options;
    if (!Number.isSafeInteger(maxPending) || maxPending < 1)
      throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    if (options.path === undefined) return new Outbox(options, undefined, 0);
    const { log, text } = await AppendLog.open(options.fs ?? nodeStateFs, options.path);
    const replayed = replay(text);
    const outbox = new Outbox(options, log, replayed.unreadable);
    outbox.#high = replayed.high;
    for (const event of replayed.pending) outbox.#pending.set(event.sequence, event);
    // A bound lowered since the last run: keep the newest.
    while (outbox.#pending.size > outbox.maxPending) {
      outbox.#pending.delete(outbox.head()!.sequence);
      outbox.droppedTotal++;
    }
    await outbox.#serial.run(() => outbox.#compact());
    return outbox;
  }

  /** Number of events waiting for delivery. */
  get depth(): number {
    return this.#pending.size;
  }

  /** The highest sequence number this outbox has held (0 if none). */
  get high(): number {
    return this.#high;
  }

  /** The oldest pending event (lowest sequence), if any. */
  head(): SaturnEvent | undefined {
    return this.#pending.values().next().value;
  }

  /** Pending events in sequence order. */
  pending(): SaturnEvent[] {
    return [...this.#pending.values()];
  }

  /**
   * Adds a group of events (in sequence order) with one write and one fsync; resolves once they are
   * durable, and only then are they pending. Events already in (at or below `high`) are skipped, so
   * a group whose commit failed elsewhere can be appended again. When full, the oldest pending
   * events are dropped (recorded in the same write).
   */
  append(events: readonly SaturnEvent[]): Promise<AppendResult> {
    return this.#serial.run(async () => {
      const fresh = events.filter((e) => e.sequence > this.#high);
      if (fresh.length === 0) return { dropped: [] };
      const excess = Math.max(0, this.#pending.size + fresh.length - this.maxPending);
      const dropped = [...this.#pending.values(), ...fresh].slice(0, excess);
      const droppedSequences = new Set(dropped.map((e) => e.sequence));
      let text = '';
      for (const event of dropped) text += `${JSON.stringify({ drop: event.sequence })}\n`;
      for (const event of fresh)
        if (!droppedSequences.has(event.sequence)) text += `${JSON.stringify({ add: eventToRecord(event) })}\n`;
      await this.#log?.append(text, true);
      for (const event of dropped) this.#pending.delete(event.sequence);
      for (const event of fresh) if (!droppedSequences.has(event.sequence)) this.#pending.set(event.sequence, event);
      this.#high = fresh.at(-1)!.sequence;
      this.droppedTotal += dropped.length;
      this.#finishedRecords += dropped.length;
      return { dropped };
    });
  }

  /**
   * Marks an event finished (delivered, or rejected for good): it leaves the pending set at once,
   * and the record follows in the file. Unknown sequences are ignored.
   */
  done(sequence: number): Promise<void> {
    if (!this.#pending.delete(sequence)) return Promise.resolve();
    return this.#serial.run(async () => {
      await this.#log?.append(`${JSON.stringify({ done: sequence })}\n`, false);
      this.#finishedRecords++;
      if (this.#finishedRecords >= this.#compactAt && this.#finishedRecords > this.#pending.size) await this.#compact();
    });
  }

  /** Waits for the file operations asked for so far, then closes the file. */
  close(): Promise<void> {
    return this.#serial.run(async () => this.#log?.close());
  }

  /**
   * Rewrites the file with the pending events only (atomically). It only saves space: when it
   * fails (a full disk) the old file stays in use, and the next try waits for twice as many
   * finished records.
   */
  async #compact(): Promise<void> {
    if (!this.#log) return;
    let text = this.#high > 0 ? `${JSON.stringify({ high: this.#high })}\n` : '';
    for (const event of this.#pending.values()) text += `${JSON.stringify({ add: eventToRecord(event) })}\n`;
    try {
      await this.#log.rewrite(text);
    } catch (err) {
      this.#compactAt = Math.max(this.#finishedRecords, 1) * 2;
      this.#logger?.warn(
        { file: this.#log.path, code: errorCode(err), err: (err as Error).message, retryAfterRecords: this.#compactAt },
        'webhook outbox: compaction failed; appending to the uncompacted file',
      );
      return;
    }
    this.#finishedRecords = 0;
    this.#compactAt = this.#compactAfter;
  }
}

/** The pending events of an outbox file, its highest sequence, and the lines it could not read. */
function replay(text: string): { pending: SaturnEvent[]; high: number; unreadable: number } {
  let unreadable = 0;
  let high = 0;
  const added: SaturnEvent[] = [];
  const finished = new Set<number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const record = JSON.parse(line) as { add?: Record<string, unknown>; done?: number; drop?: number; high?: number };
      if (record.add) {
        const event = eventFromRecord(record.add);
        added.push(event);
        high = Math.max(high, event.sequence);
      } else if (Number.isSafeInteger(record.done)) finished.add(record.done!);
      else if (Number.isSafeInteger(record.drop)) {
        finished.add(record.drop!);
        high = Math.max(high, record.drop!);
      } else if (Number.isSafeInteger(record.high)) high = Math.max(high, record.high!);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  added.sort((a, b) => a.sequence - b.sequence);
  return { pending: added.filter((e) => !finished.has(e.sequence)), high, unreadable };
}
