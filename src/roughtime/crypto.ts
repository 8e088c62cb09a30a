/**
 * Hashing and Ed25519 for Roughtime, on node:crypto's native implementations. KeyObjects are
 * cached by key bytes because building one costs more than a verification.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { malformed } from './message.js';

/** SHA-512 of the concatenated parts, truncated to `bytes` (32 for IETF versions, 64 for Google). */
export function hashParts(bytes: number, ...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  const digest = hash.digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, bytes);
}

/** SRV for a long-term public key: SHA-512(0xff ‖ key) truncated to 32 bytes. */
export function serverId(publicKey: Uint8Array): Uint8Array {
  return hashParts(32, new Uint8Array([0xff]), publicKey);
}

const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 1024;

const b64url = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** A cached KeyObject for a raw 32-byte Ed25519 public key; SATURN_ERR_RT_MALFORMED if it is not one. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== 32) throw malformed(`Ed25519 public key is ${raw.byteLength} bytes, expected 32`);
  const id = b64url(raw);
  let key = publicKeys.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    } catch (cause) {
      throw malformed(
        `bytes ${Buffer.from(raw).toString('hex')} are not an Ed25519 public key: ${(cause as Error).message}`,
      );
    }
    // Online keys rotate; bound the cache instead of letting it grow for the life of a process.
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** Whether `signature` is a valid Ed25519 signature of context ‖ message; never throws. */
export function verifySignature(
  publicKey: KeyObject,
  context: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.byteLength !== 64) return false;
  try {
    return verify(null, Buffer.concat([context, message]), publicKey, signature);
  } catch {
    return false;
  }
}

/** An Ed25519 key pair from a 32-byte seed (the form Roughtime tools store private keys in). */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

// PKCS#8 wrapping of a raw Ed25519 seed: a fixed 16-byte DER prefix.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The signing key for a 32-byte Ed25519 seed. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.byteLength !== 32) throw new RangeError(`Ed25519 seed is ${seed.byteLength} bytes, expected 32`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('node:crypto did not export the Ed25519 public key');
  return { privateKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

/** Signs context ‖ message with Ed25519. */
export function signMessage(key: SigningKey, context: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, Buffer.concat([context, message]), key.privateKey));
}
