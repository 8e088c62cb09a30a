import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ErrorCode } from '../errors.js';

/**
 * The authenticated envelope around every saturn datagram:
 *   version (1 byte) | payload | HMAC-SHA256(key, version | payload) (32 bytes)
 * The MAC covers the exact bytes that are decoded, so no two messages share a tag
 * (the original tool MACed unseparated field text, which let fields run into each other).
 */
export const ENVELOPE_VERSION = 1;
export const MAC_BYTES = 32;
/** Keys shorter than this are refused at start. */
export const MIN_KEY_BYTES = 16;

/** The slice of noble's HMAC state this module uses (its generic typings do not round-trip). */
interface KeyedHmac {
  _cloneInto(to?: KeyedHmac): KeyedHmac;
  update(data: Uint8Array): KeyedHmac;
  digestInto(out: Uint8Array): void;
}

export type OpenResult = { ok: true; payload: Uint8Array } | { ok: false; code: ErrorCode };

/** Seals and opens envelopes under one key; the keyed HMAC state is computed once. */
export class Envelope {
  private readonly keyed: KeyedHmac;
  private scratch: KeyedHmac | undefined;

  constructor(key: Uint8Array) {
    if (key.length < MIN_KEY_BYTES) {
      throw new RangeError(`HMAC key must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
    }
    this.keyed = hmac.create(sha256, key) as unknown as KeyedHmac;
  }

  private mac(versionAndPayload: Uint8Array, out: Uint8Array): void {
    // Cloning the keyed state skips re-hashing the key pads for every datagram.
    const state = this.keyed._cloneInto(this.scratch);
    this.scratch = state;
    state.update(versionAndPayload).digestInto(out);
  }

  /** Wraps a payload into a datagram. */
  seal(payload: Uint8Array): Uint8Array {
    const datagram = new Uint8Array(1 + payload.length + MAC_BYTES);
    datagram[0] = ENVELOPE_VERSION;
    datagram.set(payload, 1);
    const signed = datagram.subarray(0, 1 + payload.length);
    this.mac(signed, datagram.subarray(1 + payload.length));
    return datagram;
  }

  /** Checks a datagram's version and MAC (in constant time) and returns its payload. */
  open(datagram: Uint8Array): OpenResult {
    if (datagram.length < 1 + MAC_BYTES) return { ok: false, code: 'SATURN_ERR_SHORT_PACKET' };
    if (datagram[0] !== ENVELOPE_VERSION) return { ok: false, code: 'SATURN_ERR_BAD_VERSION' };
    const end = datagram.length - MAC_BYTES;
    const expected = new Uint8Array(MAC_BYTES);
    this.mac(datagram.subarray(0, end), expected);
    if (!constantTimeEqual(expected, datagram.subarray(end))) return { ok: false, code: 'SATURN_ERR_BAD_MAC' };
    return { ok: true, payload: datagram.subarray(1, end) };
  }
}

/** Compares two byte strings without an early exit, so timing says nothing about where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
