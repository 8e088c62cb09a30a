/**
 * An append-only file of lines in the state dir (an outbox, the dead letters): each append is
 * written at the end of what is known to be in the file, optionally fsync'd, and the file can be
 * replaced atomically (compaction). Callers run one operation at a time (see Serial).
 *
 * A failed append leaves no trace: a write that fails or comes up short (a full disk), or an fsync
 * that fails, rejects, and the file is cut back to its last whole line before anything else is
 * written to it, so a retry never follows half a record. A file that ends in a torn line (the
 * process died in the middle of a write) is repaired on open, before anything is appended: a tail
 * that is a whole record without its newline is terminated, anything else is cut off.
 */
import { constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type StateFile, type StateFs, readIfExists, writeFileDurably, writeFully } from './state-fs.js';

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Runs asynchronous operations one at a time, in the order they were asked for. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `op` after every operation asked for before it; resolves or rejects with its result. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** One file, appended to at its end. */
export class AppendLog {
  readonly path: string;
  readonly #fs: StateFs;
  #file: StateFile;
  /** Bytes of the file that hold whole lines: where the next append goes. */
  #size: number;
  /** A failed append may have left bytes after #size that are not cut off yet. */
  #dirty = false;

  private constructor(fs: StateFs, path: string, file: StateFile, size: number) {
    this.#fs = fs;
    this.path = path;
    this.#file = file;
    this.#size = size;
  }

  /**
   * Opens (creating) the file and repairs a torn last line; returns it with the whole lines it holds
   * and the torn tail it cut off, if any. `isWhole` tells a complete record (default: parses as JSON).
   */
  static async open(
    fs: StateFs,
    path: string,
    isWhole: (line: string) => boolean = parsesAsJson,
  ): Promise<{ log: AppendLog; text: string; cut: string | undefined }> {
    await fs.mkdir(dirname(path), { recursive: true });
    const bytes = (await readIfExists(fs, path)) ?? Buffer.alloc(0);
    const file = await fs.open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    const wholeLines = bytes.lastIndexOf(0x0a) + 1;
    if (wholeLines === bytes.length)
      return { log: new AppendLog(fs, path, file, bytes.length), text: bytes.toString('utf8'), cut: undefined };
    const tail = bytes.subarray(wholeLines).toString('utf8');
    if (isWhole(tail)) {
      try {
        await writeFully(file, Buffer.from('\n'), bytes.length);
        return {
          log: new AppendLog(fs, path, file, bytes.length + 1),
          text: `${bytes.toString('utf8')}\n`,
          cut: undefined,
        };
      } catch {
        // No room even for a newline: cut the record instead (its commit never finished).
      }
    }
    try {
      await file.truncate(wholeLines);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    return {
      log: new AppendLog(fs, path, file, wholeLines),
      text: bytes.subarray(0, wholeLines).toString('utf8'),
      cut: tail,
    };
  }

  /** Bytes of whole lines in the file. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends `text` (whole lines), fsync'd when `sync`; resolves once it is all in the file. Rejects
   * if any of it could not be written (or synced), with the file as it was before.
   */
  async append(text: string, sync: boolean): Promise<void> {
    const bytes = Buffer.from(text);
    if (this.#dirty) await this.#cutBack();
    try {
      this.#dirty = true;
      await writeFully(this.#file, bytes, this.#size);
      if (sync) await this.#file.sync();
    } catch (err) {
      // Half a record must not stay in front of the next one; if the cut fails too, the next append retries it.
      await this.#cutBack().catch(() => undefined);
      throw err;
    }
    this.#dirty = false;
    this.#size += bytes.length;
  }

  /** Cuts the file back to its whole lines. */
  async #cutBack(): Promise<void> {
    await this.#file.truncate(this.#size);
    this.#dirty = false;
  }

  /** Replaces the whole file with `text`, atomically and durably, and appends after it from then on. */
  async rewrite(text: string): Promise<void> {
    await writeFileDurably(this.#fs, dirname(this.path), basename(this.path), text);
    const file = await this.#fs.open(this.path, constants.O_RDWR | constants.O_CREAT, 0o600);
    await this.#file.close().catch(() => undefined);
    this.#file = file;
    this.#size = Buffer.byteLength(text);
    this.#dirty = false;
  }

  async close(): Promise<void> {
    await this.#file.close().catch(() => undefined);
  }
}
