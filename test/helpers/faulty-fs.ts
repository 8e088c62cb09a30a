/**
 * A StateFs over the real file system (node:fs/promises) that counts what it does and fails on
 * demand, as a disk does: `spaceLeft` bytes may still be written (a write that needs more writes
 * what fits, then ENOSPC); `failSync` makes fsync fail with EIO; `holdSyncs` parks every fsync
 * until `releaseSyncs()`.
 */
import * as fs from 'node:fs/promises';
import { basename } from 'node:path';
import type { StateFile, StateFs } from '../../src/events/state-fs.js';

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

export class FaultyFs implements StateFs {
  /** Bytes that may still be written; Infinity: no limit. */
  spaceLeft = Infinity;
  failSync = false;
  holdSyncs = false;
  /** Calls, by operation and file name (basename): e.g. writes.get('outbox-….log'). */
  readonly writes = new Map<string, number>();
  readonly syncs = new Map<string, number>();
  /** Every write as [file name, bytes asked for, bytes written]. */
  readonly writeLog: [string, number, number][] = [];
  #held: (() => void)[] = [];
  #onHeld: (() => void)[] = [];

  /** Resolves once an fsync is parked by `holdSyncs`. */
  heldSync(): Promise<void> {
    if (this.#held.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#onHeld.push(resolve));
  }

  /** Lets every parked fsync go on. */
  releaseSyncs(): void {
    this.holdSyncs = false;
    for (const go of this.#held.splice(0)) go();
  }

  /** fsyncs of files whose name starts with `prefix`. */
  syncCount(prefix: string): number {
    return [...this.syncs].filter(([name]) => name.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);
  }

  async open(path: string, flags: string | number, mode?: number): Promise<StateFile> {
    const handle = await fs.open(path, flags, mode);
    const name = basename(path);
    return {
      write: async (buffer, offset, length, position) => {
        this.writes.set(name, (this.writes.get(name) ?? 0) + 1);
        const fits = Math.min(length, this.spaceLeft);
        if (fits <= 0) {
          this.writeLog.push([name, length, 0]);
          throw enospc();
        }
        const { bytesWritten } = await handle.write(buffer, offset, fits, position);
        this.spaceLeft -= bytesWritten;
        this.writeLog.push([name, length, bytesWritten]);
        return { bytesWritten };
      },
      sync: async () => {
        this.syncs.set(name, (this.syncs.get(name) ?? 0) + 1);
        if (this.holdSyncs) {
          const parked = new Promise<void>((go) => this.#held.push(go));
          for (const wake of this.#onHeld.splice(0)) wake();
          await parked;
        }
        if (this.failSync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        await handle.sync();
      },
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
    };
  }

  readFile(path: string): Promise<Buffer> {
    return fs.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return fs.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return fs.unlink(path);
  }
  mkdir(path: string, options: { recursive: true }): Promise<unknown> {
    return fs.mkdir(path, options);
  }
  readdir(path: string): Promise<string[]> {
    return fs.readdir(path);
  }
}
