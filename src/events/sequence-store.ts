/**
 * Event sequence numbers that strictly increase and are never reused, also across restarts and
 * SIGKILL. Numbers are handed out in memory (`next()`, on the datagram path: no I/O); before an
 * event is shown or delivered the journal has its number reserved on disk (`reserve()`), in blocks
 * (write-ahead): the file holds the first number not yet reserved, written to a temporary file,
 * fsync'd and renamed over the old one. A crash loses at most the rest of a block (a gap), never
 * repeats a number that anyone saw. Without a state dir, numbers start at 1 in every process.
 */
import { join } from 'node:path';
import { SaturnError } from '../errors.js';
import { type StateFs, nodeStateFs, readIfExists, writeFileDurably } from './state-fs.js';

/** Something that hands out sequence numbers. */
export interface SequenceSource {
  /** The next number: greater than every number this source (or its predecessors on disk) handed out. */
  next(): number;
  /** Makes every number up to `through` durable (never handed out again after a restart). */
  reserve(through: number): Promise<void>;
}

/** Options of a SequenceStore. */
export interface SequenceStoreOptions {
  /** Numbers reserved per disk write. Default 1000: one fsync per 1000 events, a gap of at most 1000 after a crash. */
  blockSize?: number;
  fs?: StateFs;
  /**
   * The highest number the rest of the state dir holds (outboxes, dead letters): numbering goes on
   * above it even if the sequence file is missing or behind. Default 0.
   */
  above?: number;
}

/** The sequence file disagreed with the state dir, and numbering goes on above both. */
export interface SequenceRepair {
  /** What the file said (the next number), or undefined when it was missing. */
  file: number | undefined;
  /** The next number now. */
  next: number;
}

/** The file inside the state dir. */
export const SEQUENCE_FILE = 'sequence';

/**
 * The number a sequence file holds: the first not yet reserved (every number below it may have
 * been handed out). Throws SATURN_ERR_STATE if it is empty or not a number >= 1.
 */
export function parseSequenceFile(bytes: Uint8Array, path: string): number {
  const text = Buffer.from(bytes).toString('utf8').trim();
  const next = Number(text);
  if (text === '' || !Number.isSafeInteger(next) || next < 1)
    throw new SaturnError(
      'SATURN_ERR_STATE',
      text === ''
        ? `${path} is empty: it should hold the next event sequence number`
        : `${path} does not hold a sequence number: "${text}"`,
    );
  return next;
}

/** In memory only: 1, 2, 3, … per process (no --state-dir). */
export class MemorySequence implements SequenceSource {
  #next = 1;
  next(): number {
    return this.#next++;
  }
  reserve(): Promise<void> {
    return Promise.resolve();
  }
}

/** A durable SequenceSource in a state dir. */
export class SequenceStore implements SequenceSource {
  readonly #dir: string;
  readonly #blockSize: number;
  readonly #fs: StateFs;
  #next: number;
  #reservedUpTo: number; // first number not yet reserved on disk
  /** Set when the file was missing or behind the state dir. */
  readonly repaired: SequenceRepair | undefined;

  private constructor(
    dir: string,
    first: number,
    options: { blockSize: number; fs: StateFs },
    repaired: SequenceRepair | undefined,
  ) {
    this.#dir = dir;
    this.repaired = repaired;
    this.#blockSize = options.blockSize;
    this.#fs = options.fs;
    this.#next = first;
    this.#reservedUpTo = first;
  }

  /**
   * Opens (or creates) the counter in `dir`; the next number is above both the file and `above`.
   * Throws SATURN_ERR_STATE if the file exists but is empty, not a number, or unreadable.
   */
  static async open(dir: string, options: SequenceStoreOptions = {}): Promise<SequenceStore> {
    const { blockSize = 1000, fs = nodeStateFs, above = 0 } = options;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1)
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    const path = join(dir, SEQUENCE_FILE);
    let bytes: Buffer | undefined;
    try {
      await fs.mkdir(dir, { recursive: true });
      bytes = await readIfExists(fs, path);
    } catch (err) {
      throw new SaturnError('SATURN_ERR_STATE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    const file = bytes === undefined ? undefined : parseSequenceFile(bytes, path);
    const first = Math.max(file ?? 1, above + 1);
    const repaired = first !== (file ?? 1) ? { file, next: first } : undefined;
    return new SequenceStore(dir, first, { blockSize, fs }, repaired);
  }

  /** The number the next call to next() returns. */
  get peek(): number {
    return this.#next;
  }

  next(): number {
    return this.#next++;
  }

  /** Reserves a block beyond `through` when `through` is not reserved yet (one durable write). */
  async reserve(through: number): Promise<void> {
    if (through < this.#reservedUpTo) return;
    const upTo = through + this.#blockSize;
    await writeFileDurably(this.#fs, this.#dir, SEQUENCE_FILE, `${upTo}\n`);
    this.#reservedUpTo = Math.max(this.#reservedUpTo, upTo);
  }
}
