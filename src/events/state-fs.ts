/**
 * The file operations the state dir needs, as promises: `node:fs/promises` is the production
 * implementation (its writes and fsyncs run on libuv's thread pool, off the main thread), and tests
 * inject one that fails (a full disk, short writes). Only what the state dir uses is here.
 */
import * as fsPromises from 'node:fs/promises';
import { join } from 'node:path';

/** An open file: positioned writes, fsync, truncate. `FileHandle` of node:fs/promises fits. */
export interface StateFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** The directory-level operations. `node:fs/promises` fits. */
export interface StateFs {
  open(path: string, flags: string | number, mode?: number): Promise<StateFile>;
  /** Rejects with code ENOENT when the file does not exist. */
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
}

/** The real file system. */
export const nodeStateFs: StateFs = fsPromises;

/** The errno code of a file-system error (ENOSPC, EIO, …), or the error's name. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : ((err as Error | undefined)?.name ?? 'Error');
}

/** Reads a file, or undefined when it does not exist (other errors reject). */
export async function readIfExists(fs: StateFs, path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes all of `bytes` at `position`, however many calls the file system needs: a write may take
 * fewer bytes than asked (a nearly full disk does that), and ignoring the count leaves half a record.
 * Rejects when a write fails or takes nothing; `onProgress` learns how much reached the file.
 */
export async function writeFully(
  file: StateFile,
  bytes: Uint8Array,
  position: number,
  onProgress: (written: number) => void = () => undefined,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await file.write(bytes, written, bytes.length - written, position + written);
    if (!(bytesWritten > 0)) {
      throw Object.assign(new Error(`short write: ${written} of ${bytes.length} bytes reached the file`), {
        code: 'ENOSPC',
      });
    }
    written += bytesWritten;
    onProgress(written);
  }
}

/** fsync of a directory makes a rename in it durable (skipped where the platform refuses it). */
export async function fsyncDir(fs: StateFs, dir: string): Promise<void> {
  let handle: StateFile | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Replaces `dir/name` with `text` atomically and durably: a temporary file written in full and
 * fsync'd, renamed over the old one, then the directory fsync'd. On failure the old file is intact
 * and the temporary one is removed.
 */
export async function writeFileDurably(fs: StateFs, dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await writeFully(handle, Buffer.from(text), 0);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await fs.rename(tmp, path);
  await fsyncDir(fs, dir);
}
