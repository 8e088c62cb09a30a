import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** Bytes of an HMAC-SHA256 tag. */
export const MAC_BYTES = 32;

/** The slice of noble's HMAC state this module uses (its generic typings do not round-trip). */
interface KeyedHmac {
  _cloneInto(to?: KeyedHmac): KeyedHmac;
  update(data: Uint8Array): KeyedHmac;
  digestInto(out: Uint8Array): void;
}

/**
 * HMAC-SHA256 under one key. The keyed state (the key's inner and outer pads, hashed) is computed
 * once and cloned per message: 5.0 µs per 110-byte datagram against 10.6 µs for a one-shot hmac().
 */
export class KeyedMac {
  private readonly keyed: KeyedHmac;
  private scratch: KeyedHmac | undefined;

  constructor(key: Uint8Array) {
    this.keyed = hmac.create(sha256, key) as unknown as KeyedHmac;
  }

  /** Writes the tag of `data` into `out` (MAC_BYTES long). */
  computeInto(data: Uint8Array, out: Uint8Array): void {
    const state = this.keyed._cloneInto(this.scratch);
    this.scratch = state;
    state.update(data).digestInto(out);
  }
}

/** Compares two byte strings without an early exit, so timing says nothing about where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
