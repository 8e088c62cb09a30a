/**
 * Writing secrets: a new file only its owner can read (mode 0600), never overwriting one (a
 * rotated key must not silently replace the one in use). Errors are one sentence (ConfigError).
 */
import { writeFileSync } from 'node:fs';
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
