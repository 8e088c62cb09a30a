import { HMAC_SHA256_BYTES, HmacSha256State } from './hmac-sha256-wasm.js';

/** Bytes of an HMAC-SHA256 tag. */
export const MAC_BYTES = HMAC_SHA256_BYTES;

/**
 * HMAC-SHA256 under one key, per datagram. The key's pad blocks are hashed once and each call
 * runs in WebAssembly without allocating (src/wire/hmac-sha256-wasm.ts): 0.67 µs per 110-byte
 * datagram against 1.8 µs for noble's keyed state cloned per call and 3.4 µs for node:crypto's
 * createHmac (bench/wire-micro.ts).
 */
export class KeyedMac {
  private readonly state: HmacSha256State;

  constructor(key: Uint8Array) {
    this.state = new HmacSha256State(key);
  }

  /** Writes the tag of `data` into `out` (MAC_BYTES long). */
  computeInto(data: Uint8Array, out: Uint8Array): void {
    this.state.computeInto(data, out);
  }
}

/** Compares two byte strings without an early exit, so timing says nothing about where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
