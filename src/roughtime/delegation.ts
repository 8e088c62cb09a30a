/**
 * Delegation: the long-term key signs, once per version family (time units and signature
 * contexts differ), that an online key may sign responses for [MINT, MAXT]. The result is plain
 * data (the online key's seed, the window, one CERT per family), so it crosses to the worker
 * threads that sign batches as a structured clone. Pure: the caller passes the window.
 */
import { signMessage, signingKeyFromSeed, type SigningKey } from './crypto.js';
import { encodeMessage, u64le } from './message.js';
import { Tag } from './tags.js';
import { FAMILIES, nanosToTime, type VersionFamily } from './versions.js';

/** An online key delegated by the long-term key for [mint, maxt], with its CERT for each version family. */
export interface Delegation {
  /** The online key's 32-byte Ed25519 seed (the responder builds its signing key from it). */
  readonly onlineSeed: Uint8Array;
  /** The window the online key may sign for, nanoseconds since the epoch. */
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
  /** CERT (SIG and DELE) per version family. */
  readonly certs: ReadonlyArray<readonly [VersionFamily['id'], Uint8Array]>;
}

export interface DelegationOptions {
  readonly longTermKey: SigningKey;
  /** The online key's 32-byte seed. */
  readonly onlineSeed: Uint8Array;
  /** Start and end of the window the online key may sign for, nanoseconds since the epoch. */
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Signs the delegation for every version family; RangeError if the window ends before it starts. */
export function createDelegation(options: DelegationOptions): Delegation {
  if (options.maxtNs < options.mintNs)
    throw new RangeError(`delegation ends (${options.maxtNs}) before it starts (${options.mintNs})`);
  if (options.onlineSeed.byteLength !== 32)
    throw new RangeError(`an online key seed is 32 bytes, got ${options.onlineSeed.byteLength}`);
  const onlinePublicKey = signingKeyFromSeed(options.onlineSeed).publicKey;
  const clamp = (value: bigint): bigint => (value > U64_MAX ? U64_MAX : value < 0n ? 0n : value);
  const certs = FAMILIES.map((family) => {
    const dele = encodeMessage([
      [Tag.PUBK, onlinePublicKey],
      [Tag.MINT, u64le(clamp(nanosToTime(family, options.mintNs, 'floor')))],
      [Tag.MAXT, u64le(clamp(nanosToTime(family, options.maxtNs, 'ceil')))],
    ]);
    const signature = signMessage(options.longTermKey, family.delegationContext, dele);
    const cert = encodeMessage([
      [Tag.SIG, signature],
      [Tag.DELE, dele],
    ]);
    return [family.id, cert] as const;
  });
  return { onlineSeed: new Uint8Array(options.onlineSeed), mintNs: options.mintNs, maxtNs: options.maxtNs, certs };
}
