/**
 * The server's keys. The long-term key lives in a file (`saturn keygen` writes one: the 32-byte
 * Ed25519 seed in hex, mode 0600) or, without one, is made up at start (ad hoc: fine for tests,
 * useless for production since no client knows its public key in advance). The online key is
 * delegated by the long-term key for a bounded window and replaced before the window ends, the
 * new one overlapping the old so no request falls between them.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { readAtMost, writeNewPrivateFile } from '../util/private-file.js';
import { signingKeyFromSeed, type SigningKey } from './crypto.js';
import { createDelegation, type Delegation } from './delegation.js';

/** The server's long-term identity. */
export interface RoughtimeKeys {
  readonly longTermKey: SigningKey;
  /** Made up at start, not read from a file: never for production. */
  readonly adHoc: boolean;
}

/** A fresh long-term key that no file holds. */
export function adHocKeys(): RoughtimeKeys {
  return { longTermKey: signingKeyFromSeed(randomBytes(32)), adHoc: true };
}

/** The text of a key file: the seed in hex and a newline. */
export function keyFileText(seed: Uint8Array): string {
  if (seed.byteLength !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.byteLength}`);
  return `${Buffer.from(seed).toString('hex')}\n`;
}

/** Reads a key file's seed: 64 hex digits, 44 characters of base64 (either after a UTF-8 byte order mark or not), or 32 raw bytes. */
export function parseKeyFile(bytes: Uint8Array, file: string): Uint8Array {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = Buffer.from(bytes.subarray(bom)).toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.byteLength === 32) return bytes;
  throw new ConfigError(
    `key file ${file} holds no Ed25519 seed (expected 64 hex digits, base64 of 32 bytes, or 32 raw bytes)`,
  );
}

/** Longest key file read: a seed in any of its forms is under 100 bytes. */
const MAX_KEY_FILE_BYTES = 4096;

/** Loads the long-term key from `file`. */
export async function loadKeyFile(file: string): Promise<RoughtimeKeys> {
  let bytes: Uint8Array;
  try {
    bytes = readAtMost(file, MAX_KEY_FILE_BYTES + 1);
  } catch (error) {
    throw new ConfigError(
      `key file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  if (bytes.byteLength > MAX_KEY_FILE_BYTES)
    throw new ConfigError(`key file ${file} holds more than ${MAX_KEY_FILE_BYTES} bytes: it is not a key file`);
  return { longTermKey: signingKeyFromSeed(parseKeyFile(bytes, file)), adHoc: false };
}

/** Writes a new long-term key to `file` (refusing to overwrite one) and returns its public half. */
export async function writeNewKeyFile(file: string): Promise<Uint8Array> {
  const seed = randomBytes(32);
  writeNewPrivateFile(file, keyFileText(seed));
  return signingKeyFromSeed(seed).publicKey;
}

export interface OnlineKeyOptions {
  /** How long a delegation is valid, ns (default 1 h). */
  readonly windowNs?: number;
  /** A new one is made when this little of the window is left, ns (default a quarter of it). */
  readonly renewBeforeNs?: number;
  /** MINT lies this far before the moment of delegation, ns, to tolerate small steps back (default 1 min). */
  readonly backdateNs?: number;
  /** Online seeds; default random. */
  readonly seeds?: () => Uint8Array;
}

/** The default of OnlineKeyOptions.windowNs: how long an online key is delegated for, ns. */
export const DEFAULT_DELEGATION_WINDOW_NS = 3_600_000_000_000;
const MINUTE_NS = 60_000_000_000;

/**
 * The current delegation, replaced when the time passed in comes within `renewBeforeNs` of
 * its end (or falls before its start, after a step back). Pure apart from drawing seeds: the
 * caller passes the time.
 */
export class OnlineKeys {
  private current: Delegation | undefined;
  /** Delegations made so far. */
  issued = 0;
  private readonly windowNs: bigint;
  private readonly renewBeforeNs: bigint;
  private readonly backdateNs: bigint;
  private readonly seeds: () => Uint8Array;

  constructor(
    private readonly longTermKey: SigningKey,
    options: OnlineKeyOptions = {},
  ) {
    const windowNs = options.windowNs ?? DEFAULT_DELEGATION_WINDOW_NS;
    const renewBeforeNs = options.renewBeforeNs ?? windowNs / 4;
    if (!(windowNs > 0) || !(renewBeforeNs > 0) || renewBeforeNs >= windowNs)
      throw new RangeError(
        `delegation window ${windowNs} ns must be positive and longer than the renewal margin ${renewBeforeNs} ns`,
      );
    this.windowNs = BigInt(Math.round(windowNs));
    this.renewBeforeNs = BigInt(Math.round(renewBeforeNs));
    this.backdateNs = BigInt(Math.round(options.backdateNs ?? Math.min(MINUTE_NS, windowNs / 4)));
    this.seeds = options.seeds ?? (() => randomBytes(32));
  }

  /** The delegation to sign with at `nowNs`, and whether it was just made. */
  at(nowNs: bigint): { readonly delegation: Delegation; readonly renewed: boolean } {
    const current = this.current;
    if (current !== undefined && nowNs >= current.mintNs && nowNs < current.maxtNs - this.renewBeforeNs)
      return { delegation: current, renewed: false };
    const onlineSeed = this.seeds();
    const mintNs = nowNs - this.backdateNs;
    const maxtNs = nowNs + this.windowNs;
    this.current = createDelegation({ longTermKey: this.longTermKey, onlineSeed, mintNs, maxtNs });
    this.issued++;
    return { delegation: this.current, renewed: true };
  }
}
