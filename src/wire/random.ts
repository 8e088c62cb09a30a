import { randomFillSync } from 'node:crypto';

/** Fills fresh bytes; injected so tests can be deterministic. */
export type RandomBytes = (length: number) => Uint8Array;

export const cryptoRandom: RandomBytes = (length) => randomFillSync(new Uint8Array(length));

/** A fresh random 64-bit session id. */
export function randomSessionId(random: RandomBytes): bigint {
  const b = random(8);
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}
