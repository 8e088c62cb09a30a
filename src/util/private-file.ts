/**
 * Secrets in files. Writing: a new file only its owner can read (mode 0600), never overwriting one
 * (a rotated key must not silently replace the one in use). Reading: at most a bound, so a device
 * or pipe that never ends (/dev/zero) is refused, not read until memory runs out. Errors are one
 * sentence (ConfigError).
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** Writes `text` to a new file `path`, mode 0600; refuses an existing file. */
export function writeNewPrivateFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'EEXIST'
        ? `key file ${path} already exists; not overwriting it`
        : `cannot write key file ${path} (${code ?? (error as Error).message})`,
    );
  }
}

/** The first `limit` bytes of a file (fewer if it is shorter), read without trusting its size; throws what the file system throws. */
export function readAtMost(path: string, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (let n = -1; n !== 0 && length < limit; length += n) n = readSync(fd, out, length, limit - length, null);
    return out.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
