/**
 * An append-only file of lines in the state dir (an outbox, the dead letters): each append is
 * written at the end of what is known to be in the file, optionally fsync'd, and the file can be
 * replaced atomically (compaction). Callers run one operation at a time (see Serial).
 */
import { constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type StateFile, type StateFs, readIfExists, writeFileDurably, writeFully } from './state-fs.js';

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

  private constructor(fs: StateFs, path: string, file: StateFile, size: number) {
    this.#fs = fs;
    this.path = path;
    this.#file = file;
    this.#size = size;
  }

  /** Opens (creating) the file; returns it with the text it already held. */
  static async open(fs: StateFs, path: string): Promise<{ log: AppendLog; text: string }> {
    await fs.mkdir(dirname(path), { recursive: true });
    const bytes = (await readIfExists(fs, path)) ?? Buffer.alloc(0);
    const file = await fs.open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    return { log: new AppendLog(fs, path, file, bytes.length), text: bytes.toString('utf8') };
  }

  /** Bytes of whole lines in the file. */
  get size(): number {
    return this.#size;
  }

  /** Appends `text` (whole lines), fsync'd when `sync`; resolves once it is all in the file. */
  async append(text: string, sync: boolean): Promise<void> {
    const bytes = Buffer.from(text);
    await writeFully(this.#file, bytes, this.#size);
    if (sync) await this.#file.sync();
    this.#size += bytes.length;
  }

  /** Replaces the whole file with `text`, atomically and durably, and appends after it from then on. */
  async rewrite(text: string): Promise<void> {
    await writeFileDurably(this.#fs, dirname(this.path), basename(this.path), text);
    const file = await this.#fs.open(this.path, constants.O_RDWR | constants.O_CREAT, 0o600);
    await this.#file.close().catch(() => undefined);
    this.#file = file;
    this.#size = Buffer.byteLength(text);
  }

  async close(): Promise<void> {
    await this.#file.close().catch(() => undefined);
  }
}
