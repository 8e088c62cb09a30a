/**
 * Key files: the HMAC key file (one key, or several with ids so a fleet can roll its key) and the
 * guard every private key file passes, as ssh guards its private keys: a file that other users
 * can read is refused unless the operator says otherwise. Errors name the file and the line,
 * never the bytes of a key.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { readAtMost } from '../util/private-file.js';
import { type HmacKey, KeyRing, MAX_KEY_ID, MIN_KEY_BYTES } from '../wire/keys.js';

/**
 * Refuses a private key file that group or others have any permission on (ssh's rule for
 * private keys), unless `allowInsecure` (--allow-insecure-key-file). `what` names it: "HMAC key file".
 */
export function checkPrivateFile(path: string, what: string, allowInsecure: boolean): void {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (err) {
    throw new ConfigError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (stats.isDirectory()) throw new ConfigError(`${what} ${path} is a directory, not a file`);
  const mode = Number(stats.mode);
  if ((mode & 0o077) === 0 || allowInsecure) return;
  throw new ConfigError(
    `${what} ${path} is open to other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): ` +
      `chmod 600 it, or pass --allow-insecure-key-file`,
  );
}

/** A key file is a few lines; reading stops past this, so a device or pipe that never ends (/dev/zero) is refused, not read until memory runs out. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** One `ID KEY` line: a decimal id, blanks, the key (text, or HEX: and hex digits). */
const KEY_LINE = /^(\d+)[ \t]+(\S+)[ \t]*$/;

/**
 * Parses an HMAC key file into a KeyRing. Two forms:
 *
 * - Key ids, one key per line, `ID KEY`; the first line is the current key (the one datagrams are
 *   sealed with), every key listed is accepted. KEY is text, or `HEX:` and an even number of hex
 *   digits, as chrony writes its keys. Blank lines and lines starting with `#` are ignored.
 *
 *       # saturn HMAC keys
 *       2 HEX:8c0f5e0d0d2b4c6f9a7e51e2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f70
 *       1 an-old-text-key-of-16-bytes-or-more
 *
 * - The whole file is one key, id 0 (the format before key ids): anything that is one line, does
 *   not read as `ID KEY` and does not start with `#`. A trailing newline is not part of the key, nor is a leading UTF-8 byte order mark.
 */
export function parseHmacKeyFile(bytes: Uint8Array, path: string): KeyRing {
  // A UTF-8 byte order mark (Windows editors write one) would otherwise turn an "ID KEY" line into a bare key.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let end = bytes.length;
  while (end > start && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  const body = bytes.subarray(start, end);
  const text = Buffer.from(body).toString('utf8');
  if (!text.includes('\n') && !KEY_LINE.test(text) && !text.startsWith('#'))
    return ringOf([{ id: 0, key: body }], path);
  const keys: HmacKey[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = KEY_LINE.exec(line);
    if (!match) throw new ConfigError(`HMAC key file ${path}, line ${i + 1}: expected "ID KEY"`);
    const id = Number(match[1]);
    if (!Number.isSafeInteger(id) || id > MAX_KEY_ID)
      throw new ConfigError(`HMAC key file ${path}, line ${i + 1}: the key id must be from 0 to ${MAX_KEY_ID}`);
    if (keys.some((k) => k.id === id))
      throw new ConfigError(`HMAC key file ${path}, line ${i + 1}: key id ${id} is given twice`);
    keys.push({ id, key: keyBytes(match[2]!, path, i + 1) });
  }
  if (keys.length === 0) throw new ConfigError(`HMAC key file ${path} holds no key`);
  return ringOf(keys, path);
}

function keyBytes(text: string, path: string, line: number): Uint8Array {
  if (!text.toUpperCase().startsWith('HEX:')) return new TextEncoder().encode(text);
  const hex = text.slice(4);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex))
    throw new ConfigError(`HMAC key file ${path}, line ${line}: HEX: must be followed by pairs of hex digits`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function ringOf(keys: HmacKey[], path: string): KeyRing {
  for (const { id, key } of keys) {
    if (key.length < MIN_KEY_BYTES)
      throw new ConfigError(`HMAC key ${id} in ${path} must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
  }
  return new KeyRing(keys);
}

/** Reads, guards and parses an HMAC key file (at start, and again on SIGHUP). */
export function loadHmacKeyFile(path: string, allowInsecure: boolean): KeyRing {
  checkPrivateFile(path, 'HMAC key file', allowInsecure);
  let bytes: Uint8Array;
  try {
    bytes = readAtMost(path, MAX_KEY_FILE_BYTES + 1);
  } catch (err) {
    throw new ConfigError(
      `cannot read HMAC key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (bytes.length > MAX_KEY_FILE_BYTES)
    throw new ConfigError(`HMAC key file ${path} holds more than 1 MiB: it is not a key file`);
  return parseHmacKeyFile(bytes, path);
}
