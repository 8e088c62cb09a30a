/**
 * A durable outbox of events not yet delivered to one webhook: an append-only file of JSON lines,
 *   {"add":{...event...}}   an event to deliver
 *   {"done":17}             delivered (or rejected for good: not retried)
 *   {"drop":17}             dropped because the outbox was full
 *   {"high":17}             the highest sequence the outbox ever held (first line after compaction)
 * A group of events is appended with one write and one fsync (`append`), off the main thread: the
 * journal does that before an event is shown or delivered, so what the llog stream has shown
 * survives a SIGKILL. `done` records are not fsync'd on their own (a lost one means a second
 * delivery with the same Idempotency-Key). On open a torn last line is cut off (its commit never
 * finished), a damaged line gives up the whole records that follow it on the same line, every
 * record that could not be read is reported (`damage`, with its sequence when readable), and the
 * file is compacted (rewritten with the pending events only, atomically); it is compacted again
 * whenever finished records outnumber pending ones. The outbox is bounded: when
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
  /** Records of the file that could not be read when it was opened (a write torn by a crash). */
  readonly damage: readonly OutboxDamage[];
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

  private constructor(options: OutboxOptions, log: AppendLog | undefined, damage: readonly OutboxDamage[]) {
    const { maxPending = DEFAULT_OUTBOX_MAX, compactAfter = 1000 } = options;
    this.maxPending = maxPending;
    this.#compactAfter = compactAfter;
    this.#compactAt = compactAfter;
    this.#logger = options.logger;
    this.#log = log;
    this.damage = damage;
  }

  /** Opens the outbox: replays and compacts its file (if any). */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const { maxPending = DEFAULT_OUTBOX_MAX } = options;
    if (!Number.isSafeInteger(maxPending) || maxPending < 1)
      throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    if (options.path === undefined) return new Outbox(options, undefined, []);
    const { log, text, cut } = await AppendLog.open(
      options.fs ?? nodeStateFs,
      options.path,
      (line) => parseRecord(line) !== undefined,
    );
    const replayed = replay(text, cut);
    const outbox = new Outbox(options, log, replayed.damage);
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

  /** True when the outbox has a file: its pending events survive a restart. */
  get durable(): boolean {
    return this.#log !== undefined;
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

/** What an outbox file holds, read without changing it (to scan a state dir, or list it). */
export interface OutboxContents {
  pending: SaturnEvent[];
  /** The highest sequence the file mentions (0 if none). */
  high: number;
  damage: OutboxDamage[];
}

/** Reads an outbox file without repairing or compacting it (a torn tail is reported, not cut). */
export async function readOutbox(fs: StateFs, path: string): Promise<OutboxContents> {
  const text = (await fs.readFile(path)).toString('utf8');
  const wholeLines = text.lastIndexOf('\n') + 1;
  const tail = text.slice(wholeLines);
  return tail === '' || parseRecord(tail) ? replay(text, undefined) : replay(text.slice(0, wholeLines), tail);
}

/**
 * A record of the file that could not be read: a write torn by a crash, or damage. `sequence` is
 * the event it was about, when that much of it survived.
 */
export interface OutboxDamage {
  /** 1-based line of the file (for a cut tail: the line it would have been). */
  line: number;
  /** What the record was: an event to deliver, a delivery or drop mark, or unknown. */
  record: 'add' | 'done' | 'drop' | 'unknown';
  sequence: number | undefined;
  /** The torn last line, cut off before appending: its commit never finished, so it was never shown. */
  tail: boolean;
  /** An event whose only record this was, and that is therefore missing from the outbox. */
  lost: boolean;
}

type OutboxRecord = { add?: Record<string, unknown>; done?: number; drop?: number; high?: number };

/** A line as a record of this file, or undefined. */
function parseRecord(
  text: string,
): { add: SaturnEvent } | { finished: number; drop: boolean } | { high: number } | undefined {
  let record: OutboxRecord;
  try {
    record = JSON.parse(text) as OutboxRecord;
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  if (record.add) {
    try {
      return { add: eventFromRecord(record.add) };
    } catch {
      return undefined;
    }
  }
  if (Number.isSafeInteger(record.done)) return { finished: record.done!, drop: false };
  if (Number.isSafeInteger(record.drop)) return { finished: record.drop!, drop: true };
  if (Number.isSafeInteger(record.high)) return { high: record.high! };
  return undefined;
}

/** What a damaged piece of a line was about, as far as it can be read. */
function describeDamage(piece: string): Pick<OutboxDamage, 'record' | 'sequence'> {
  const mark = /^\{"(done|drop)":(\d+)/.exec(piece);
  if (mark) return { record: mark[1] as 'done' | 'drop', sequence: Number(mark[2]) };
  if (piece.startsWith('{"add":')) {
    const sequence = /"sequence":(\d+)/.exec(piece);
    return { record: 'add', sequence: sequence ? Number(sequence[1]) : undefined };
  }
  return { record: 'unknown', sequence: undefined };
}

const RECORD_START = /\{"(?:add|done|drop|high)":/g;

/**
 * Replays an outbox file: its pending events, its highest sequence, and what could not be read.
 * A damaged line does not take the records after it along: a record torn in half and followed on
 * the same line by the next write is split at the next record's start, and that record is kept.
 */
function replay(text: string, cutTail: string | undefined): OutboxContents {
  let high = 0;
  const added = new Map<number, SaturnEvent>();
  const finished = new Set<number>();
  const damage: OutboxDamage[] = [];
  const apply = (record: NonNullable<ReturnType<typeof parseRecord>>) => {
    if ('add' in record) {
      added.set(record.add.sequence, record.add);
      high = Math.max(high, record.add.sequence);
    } else if ('finished' in record) {
      finished.add(record.finished);
      if (record.drop) high = Math.max(high, record.finished);
    } else high = Math.max(high, record.high);
  };
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const whole = parseRecord(line);
    if (whole) {
      apply(whole);
      continue;
    }
    let damaged = line;
    for (const start of [...line.matchAll(RECORD_START)].map((m) => m.index).filter((i) => i > 0)) {
      const rest = parseRecord(line.slice(start));
      if (rest) {
        apply(rest);
        damaged = line.slice(0, start);
        break;
      }
    }
    damage.push({ line: index + 1, ...describeDamage(damaged), tail: false, lost: false });
  }
  if (cutTail !== undefined) damage.push({ line: lines.length, ...describeDamage(cutTail), tail: true, lost: false });
  for (const d of damage) {
    if (d.tail) continue;
    // An event is lost when its add record is the damaged one (and no later copy of it exists),
    // or when nothing of the record says what it was.
    d.lost =
      (d.record === 'add' && (d.sequence === undefined || (!added.has(d.sequence) && !finished.has(d.sequence)))) ||
      d.record === 'unknown';
    if (d.sequence !== undefined) high = Math.max(high, d.sequence);
  }
  const pending = [...added.values()].filter((e) => !finished.has(e.sequence)).sort((a, b) => a.sequence - b.sequence);
  return { pending, high, damage };
}
