import { KeyedMac } from './mac.js';

/** Keys shorter than this are refused. */
export const MIN_KEY_BYTES = 16;
/** Key ids are unsigned 32-bit, as NTP's and chrony's are. */
export const MAX_KEY_ID = 0xffff_ffff;

/** One shared HMAC key and the id every datagram sealed with it carries. */
export interface HmacKey {
  readonly id: number;
  readonly key: Uint8Array;
}

/**
 * The HMAC keys a node holds. It seals with `current` (the first key given) and opens with any
 * of them, so a fleet can roll its key without a flag day: add the new key everywhere, make it
 * current everywhere, remove the old one.
 */
export class KeyRing {
  readonly current: HmacKey;
  private readonly macs = new Map<number, KeyedMac>();

  /** Throws RangeError for an empty list, a duplicate or out-of-range id, or a short key. */
  constructor(keys: readonly HmacKey[]) {
    if (keys.length === 0) throw new RangeError('a key ring needs at least one key');
    for (const { id, key } of keys) {
      if (!Number.isInteger(id) || id < 0 || id > MAX_KEY_ID)
        throw new RangeError(`key id must be an integer from 0 to ${MAX_KEY_ID}, got ${id}`);
      if (this.macs.has(id)) throw new RangeError(`key id ${id} is given twice`);
      if (key.length < MIN_KEY_BYTES)
        throw new RangeError(`HMAC key ${id} must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
      this.macs.set(id, new KeyedMac(key));
    }
    this.current = keys[0]!;
  }

  /** A ring of one key, id 0 (what `--hmac-key` gives). */
  static single(key: Uint8Array): KeyRing {
    return new KeyRing([{ id: 0, key }]);
  }

  /** The ids held, current first. */
  get ids(): number[] {
    return [...this.macs.keys()];
  }

  /** The MAC of key `id`, or undefined when this ring does not hold it. */
  macOf(id: number): KeyedMac | undefined {
    return this.macs.get(id);
  }
}
