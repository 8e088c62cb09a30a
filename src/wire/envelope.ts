import type { ErrorCode } from '../errors.js';
import { type KeyRing } from './keys.js';
import { MAC_BYTES, constantTimeEqual } from './mac.js';

/**
 * The authenticated envelope around every saturn datagram (version 2):
 *
 *   offset 0      version, 1 byte (2)
 *   offset 1      key id, 4 bytes big-endian: the key that sealed the datagram
 *   offset 5      payload (one protobuf Packet)
 *   last 32       HMAC-SHA256(key[key id], version | key id | payload)
 *
 * The MAC covers the header too, so the key id is authenticated, and the exact bytes that are
 * decoded, so no two messages share a tag (the original tool MACed unseparated field text, which
 * let fields run into each other). Version 1 (no key id) is no longer accepted.
 *
 * Everything a receiver can check without the key comes first and costs no HMAC: the length
 * (a saturn datagram is at most MAX_DATAGRAM_BYTES), the version byte and whether the key id is
 * one this node holds. A flood of garbage is thereby shed at the price of a few comparisons.
 */
export const ENVELOPE_VERSION = 2;
/** Version byte and key id. */
export const HEADER_BYTES = 5;
/** The largest datagram saturn sends or accepts: a Report with a 255-character node name fits. */
export const MAX_DATAGRAM_BYTES = 1024;
/** The smallest: a header, one byte of payload and the tag. */
export const MIN_DATAGRAM_BYTES = HEADER_BYTES + 1 + MAC_BYTES;

export type OpenResult =
  | { ok: true; payload: Uint8Array; keyId: number }
  /** `keyId` is the header's claim when the header was read (unauthenticated unless the MAC passed). */
  | { ok: false; code: ErrorCode; keyId?: number };

/** Datagrams per key id, in each direction. */
export interface KeyUse {
  /** Datagrams that opened (MAC verified) under each key id. */
  readonly received: ReadonlyMap<number, number>;
  /** Datagrams sealed with each key id. */
  readonly sent: ReadonlyMap<number, number>;
}

/**
 * The checks that need no key, in the order of their cost: length, version byte, key id.
 * Returns the drop code, or undefined when the datagram is worth an HMAC.
 */
export function prefilter(datagram: Uint8Array, keys: KeyRing): ErrorCode | undefined {
  if (datagram.length < MIN_DATAGRAM_BYTES) return 'SATURN_ERR_SHORT_PACKET';
  if (datagram.length > MAX_DATAGRAM_BYTES) return 'SATURN_ERR_LONG_PACKET';
  if (datagram[0] !== ENVELOPE_VERSION) return 'SATURN_ERR_BAD_VERSION';
  if (keys.macOf(keyIdOf(datagram)) === undefined) return 'SATURN_ERR_UNKNOWN_KEY';
  return undefined;
}

/** The key id in a datagram's header (the caller has checked the length). */
function keyIdOf(datagram: Uint8Array): number {
  return ((datagram[1]! << 24) | (datagram[2]! << 16) | (datagram[3]! << 8) | datagram[4]!) >>> 0;
}

/**
 * Seals and opens envelopes under a ring of keys. The ring can be replaced while the node runs
 * (a key file reloaded on SIGHUP); what is in flight is unaffected.
 */
export class Envelope {
  private ring: KeyRing;
  private readonly received = new Map<number, number>();
  private readonly sent = new Map<number, number>();
  private readonly expected = new Uint8Array(MAC_BYTES);

  constructor(keys: KeyRing) {
    this.ring = keys;
  }

  get keys(): KeyRing {
    return this.ring;
  }

  /** Replaces the keys (a reload). */
  setKeys(keys: KeyRing): void {
    this.ring = keys;
  }

  /** Counts of datagrams per key id (for /metrics: when the old key is no longer used, it can go). */
  get keyUse(): KeyUse {
    return { received: this.received, sent: this.sent };
  }

  /**
   * Wraps a payload into a datagram, sealed with key `keyId` (a reply uses the key its request
   * came under) or, when that is not given or no longer held, with the current key.
   */
  seal(payload: Uint8Array, keyId?: number): Uint8Array {
    const id = keyId !== undefined && this.ring.macOf(keyId) ? keyId : this.ring.current.id;
    // A buffer of its own (not a slab's): a responder keeps its last reply for the session's idle time.
    const datagram = new Uint8Array(HEADER_BYTES + payload.length + MAC_BYTES);
    datagram[0] = ENVELOPE_VERSION;
    datagram[1] = id >>> 24;
    datagram[2] = id >>> 16;
    datagram[3] = id >>> 8;
    datagram[4] = id;
    datagram.set(payload, HEADER_BYTES);
    const end = HEADER_BYTES + payload.length;
    this.ring.macOf(id)!.computeInto(datagram.subarray(0, end), datagram.subarray(end));
    this.sent.set(id, (this.sent.get(id) ?? 0) + 1);
    return datagram;
  }

  /** Checks a datagram (prefilter, then the MAC in constant time) and returns its payload and key id. */
  open(datagram: Uint8Array): OpenResult {
    const refused = prefilter(datagram, this.ring);
    if (refused !== undefined) {
      return refused === 'SATURN_ERR_UNKNOWN_KEY'
        ? { ok: false, code: refused, keyId: keyIdOf(datagram) }
        : { ok: false, code: refused };
    }
    const keyId = keyIdOf(datagram);
    const end = datagram.length - MAC_BYTES;
    this.ring.macOf(keyId)!.computeInto(datagram.subarray(0, end), this.expected);
    if (!constantTimeEqual(this.expected, datagram.subarray(end)))
      return { ok: false, code: 'SATURN_ERR_BAD_MAC', keyId };
    this.received.set(keyId, (this.received.get(keyId) ?? 0) + 1);
    return { ok: true, payload: datagram.subarray(HEADER_BYTES, end), keyId };
  }
}
