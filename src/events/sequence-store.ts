/**
 * Event sequence numbers that strictly increase and are never reused, also across restarts and
 * SIGKILL. With a state dir, numbers are reserved on disk in blocks before any is handed out
 * (write-ahead): the file holds the first number not yet reserved, written to a temporary file,
 * fsync'd and renamed over the old one. A crash loses at most the rest of a block (a gap), never
 * repeats a number. Without a state dir, numbers start at 1 in every process.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SaturnError } from '../errors.js';

/** Something that hands out sequence numbers. */
export interface SequenceSource {
  /** The next number: greater than every number this source (or its predecessors on disk) handed out. */
  next(): number;
}

/** Options of a SequenceStore. */
export interface SequenceStoreOptions {
  /** Numbers reserved per disk write. Default 1000: one fsync per 1000 events, a gap of at most 1000 after a crash. */
  blockSize?: number;
}

/** The file inside the state dir. */
export const SEQUENCE_FILE = 'sequence';

/** In memory only: 1, 2, 3, … per process (no --state-dir). */
export class MemorySequence implements SequenceSource {
  #next = 1;
  next(): number {
    return this.#next++;
  }
}

/** Writes `text` to `path` atomically and durably: temp file, fsync, rename, fsync of the directory. */
export function writeFileDurably(dir: string, name: string, text: string): void {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}

/** fsync of a directory makes a rename in it durable (a no-op where the platform refuses it). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A durable SequenceSource in a state dir. */
export class SequenceStore implements SequenceSource {
  readonly #dir: string;
  readonly #blockSize: number;
  #next: number;
  #reservedUpTo: number; // first number not yet reserved on disk

  private constructor(dir: string, first: number, blockSize: number) {
    this.#dir = dir;
    this.#blockSize = blockSize;
    this.#next = first;
    this.#reservedUpTo = first;
  }

  /** Opens (or creates) the counter in `dir`. Throws if the file exists but is not a number. */
  static open(dir: string, options: SequenceStoreOptions = {}): SequenceStore {
    const { blockSize = 1000 } = options;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1)
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    mkdirSync(dir, { recursive: true });
    let first = 1;
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, SEQUENCE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      first = Number(text.trim());
      if (!Number.isSafeInteger(first) || first < 1)
        throw new SaturnError(
          'SATURN_ERR_STATE',
          `${join(dir, SEQUENCE_FILE)} does not hold a sequence number: "${text.trim()}"`,
        );
    }
    return new SequenceStore(dir, first, blockSize);
  }

  /** The number the next call to next() returns. */
  get peek(): number {
    return this.#next;
  }

  next(): number {
    if (this.#next >= this.#reservedUpTo) {
      this.#reservedUpTo = this.#next + this.#blockSize;
      writeFileDurably(this.#dir, SEQUENCE_FILE, `${this.#reservedUpTo}\n`);
    }
    return this.#next++;
  }
}
