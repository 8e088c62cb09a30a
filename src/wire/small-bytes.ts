/**
 * Short-lived byte arrays (an encoded Packet on its way into a datagram), carved from shared
 * slabs as Node's Buffer pool does, but plain Uint8Arrays (so `slice()` copies): a Uint8Array with
 * a buffer of its own costs ~1 µs past 64 bytes (its memory lives outside V8's heap), a view of a
 * slab ~0.05 µs. A slab is freed once none of its arrays is reachable, so an array kept long keeps
 * its whole slab (SLAB_BYTES) alive: not for what is kept (a sealed datagram a responder caches
 * for a session's idle time would pin the slabs of everything sent meanwhile).
 */
const SLAB_BYTES = 16 * 1024;
/** Larger requests get an array of their own. */
const MAX_FROM_SLAB = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A new array of `length` bytes, not zeroed when it comes from a slab: the caller writes every byte. */
export function smallBytes(length: number): Uint8Array {
  if (length > MAX_FROM_SLAB) return new Uint8Array(length);
  if (used + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  // Keep every array 8-byte aligned (DataViews and typed views over it stay cheap).
  used += (length + 7) & ~7;
  return bytes;
}
