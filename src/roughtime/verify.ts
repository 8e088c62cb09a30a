/**
 * Response validation, everything a client must check: the delegation is signed by the
 * long-term key, SREP by the delegated key, MINT <= MIDP <= MAXT, the Merkle path from this
 * request's leaf reaches ROOT, NONC echoes the nonce, TYPE is 1 and the version is one the request
 * offered. The verdict is a result object: no exception escapes, whatever the bytes.
 */
import type { KeyObject } from 'node:crypto';
import { SaturnError } from '../errors.js';
import { ed25519PublicKey, verifySignature } from './crypto.js';
import { isFramed, unframe } from './frame.js';
import { leafHash, rootFromPath } from './merkle.js';
import { RtMessage } from './message.js';
import { decodeRequest } from './request.js';
import { Tag, tagName } from './tags.js';
import {
  DRAFT_08,
  GOOGLE,
  familyOf,
  radiusToNanos,
  timeToNanos,
  versionLabel,
  type VersionFamily,
  type WireVersion,
} from './versions.js';

/** RADI a server sends when its own clock is unsynchronised: its time says nothing. */
export const RADI_UNSYNCHRONISED = 0xffffffff;
/** The smallest radius a timestamp of the version's resolution can honestly state: one unit. */
const MIN_RADI = 1;

export interface VerifyResult {
  readonly valid: boolean;
  /** `google`, `1`, `0x8000000c`...: known once the response has been read that far. */
  readonly version: string | null;
  readonly wireVersion: WireVersion | null;
  /** MIDP, RADI, MINT, MAXT as sent (microseconds for Google, seconds otherwise). */
  readonly midp: bigint | null;
  readonly radi: number | null;
  readonly mint: bigint | null;
  readonly maxt: bigint | null;
  /**
   * The same in saturn's units: instants in bigint nanoseconds since the epoch, the radius in
   * number nanoseconds. A RADI below the version's resolution (0: some servers truncate a
   * sub-second radius) counts as one unit of it (1 s for IETF versions, 1 µs for Google's), so a
   * correct clock never looks wrong for the server's rounding; `radiBelowResolution` says so.
   */
  readonly midpNs: bigint | null;
  readonly radiNs: number | null;
  /** RADI was 0, below the version's timestamp resolution: a server fault (the answer is still used, widened). */
  readonly radiBelowResolution: boolean;
  /** RADI is 0xffffffff: the server admits it does not know the time. */
  readonly unsynchronised: boolean;
  /** Why the response is not valid (one sentence), null when it is. */
  readonly reason: string | null;
  /** RT_MALFORMED for bytes that do not parse as the protocol says, RT_INVALID for a well-formed lie. */
  readonly code: 'SATURN_ERR_RT_MALFORMED' | 'SATURN_ERR_RT_INVALID' | null;
}

export interface VerifyInput {
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  /** The server's long-term Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
}

/** What has been read so far, so a rejection still reports the version and times it saw. */
interface Seen {
  wireVersion: WireVersion | null;
  family: VersionFamily | null;
  midp: bigint | null;
  radi: number | null;
  mint: bigint | null;
  maxt: bigint | null;
}

class Invalid extends Error {}

/** Validates a response against the request that asked for it; never throws. */
export function verifyResponse(input: VerifyInput): VerifyResult {
  const seen: Seen = { wireVersion: null, family: null, midp: null, radi: null, mint: null, maxt: null };
  try {
    check(input, seen);
    return result(seen, null, null);
  } catch (error) {
    if (error instanceof Invalid) return result(seen, error.message, 'SATURN_ERR_RT_INVALID');
    if (error instanceof SaturnError)
      return result(
        seen,
        error.message,
        error.code === 'SATURN_ERR_RT_INVALID' ? error.code : 'SATURN_ERR_RT_MALFORMED',
      );
    // Defence in depth: anything unforeseen is still a verdict, not a crash.
    return result(
      seen,
      `response could not be checked: ${(error as Error)?.message ?? String(error)}`,
      'SATURN_ERR_RT_MALFORMED',
    );
  }
}

function result(seen: Seen, reason: string | null, code: VerifyResult['code']): VerifyResult {
  const family = seen.family;
  return {
    valid: reason === null,
    version: seen.wireVersion === null ? null : versionLabel(seen.wireVersion),
    wireVersion: seen.wireVersion,
    midp: seen.midp,
    radi: seen.radi,
    mint: seen.mint,
    maxt: seen.maxt,
    midpNs: family && seen.midp !== null ? timeToNanos(family, seen.midp) : null,
    radiNs: family && seen.radi !== null ? radiusToNanos(family, Math.max(seen.radi, MIN_RADI)) : null,
    radiBelowResolution: seen.radi !== null && seen.radi < MIN_RADI,
    unsynchronised: seen.radi === RADI_UNSYNCHRONISED,
    reason,
    code,
  };
}

function invalid(reason: string): never {
  throw new Invalid(reason);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

const DEFINED_TAGS: ReadonlySet<number> = new Set(Object.values(Tag));

/**
 * Every tag the version requires must be there. A tag the protocol does not define is ignored:
 * the drafts tell clients to ignore undefined tags, and deployed servers grease a share of their
 * replies with them (a response that carries one is still valid, and still proof in a
 * malfeasance report). A defined tag where it does not belong is still rejected.
 */
function checkTags(message: RtMessage, allowed: readonly number[], required: readonly number[]): void {
  for (const tag of message.tags)
    if (DEFINED_TAGS.has(tag) && !allowed.includes(tag))
      invalid(`${message.what} carries unexpected tag ${tagName(tag)}`);
  for (const tag of required) message.require(tag);
}

function decodeRequestExplained(packet: Uint8Array): ReturnType<typeof decodeRequest> {
  try {
    return decodeRequest(packet);
  } catch (error) {
    throw error instanceof SaturnError
      ? new SaturnError(error.code, `the request is not one: ${error.message}`)
      : error;
  }
}

function check(input: VerifyInput, seen: Seen): void {
  const request = decodeRequestExplained(input.request);
  const longTermKey = ed25519PublicKey(input.publicKey);

  let family: VersionFamily;
  let top: RtMessage;
  let srep: RtMessage;
  if (request.offered === 'google') {
    if (isFramed(input.response)) invalid('a Google request got a framed response');
    top = RtMessage.parse(input.response, 'response');
    family = GOOGLE;
    seen.wireVersion = 'google';
    srep = top.message(Tag.SREP);
  } else {
    top = RtMessage.parse(unframe(input.response), 'response');
    srep = top.message(Tag.SREP);
    // Drafts 08-11 state the version at the top level; later ones inside the signed SREP.
    const version = top.has(Tag.VER) ? top.u32(Tag.VER) : srep.u32(Tag.VER);
    seen.wireVersion = version;
    const found = familyOf(version);
    if (found === undefined) invalid(`response version ${versionLabel(version)} is not one this client speaks`);
    if ((found === DRAFT_08) !== top.has(Tag.VER))
      invalid(`response states version ${versionLabel(version)} in the wrong place`);
    if (!request.offered.includes(version)) invalid(`response version ${versionLabel(version)} was not offered`);
    family = found;
  }
  seen.family = family;

  checkTags(top, family.responseTags, family.requiredResponseTags);
  checkTags(srep, family.srepTags, family.srepTags);
  const cert = top.message(Tag.CERT);
  checkTags(cert, [Tag.SIG, Tag.DELE], [Tag.SIG, Tag.DELE]);
  const dele = cert.message(Tag.DELE);
  checkTags(dele, [Tag.PUBK, Tag.MINT, Tag.MAXT], [Tag.PUBK, Tag.MINT, Tag.MAXT]);

  const signature = top.require(Tag.SIG, 64);
  const path = top.require(Tag.PATH);
  const index = top.u32(Tag.INDX);
  seen.radi = srep.u32(Tag.RADI);
  seen.midp = srep.u64(Tag.MIDP);
  const root = srep.require(Tag.ROOT, family.hashBytes);
  const certSignature = cert.require(Tag.SIG, 64);
  const onlineKeyBytes = dele.require(Tag.PUBK, 32);
  seen.mint = dele.u64(Tag.MINT);
  seen.maxt = dele.u64(Tag.MAXT);

  const nonce = top.get(Tag.NONC);
  if (nonce === undefined ? family !== GOOGLE : !equalBytes(nonce, request.nonce))
    invalid('NONC does not echo the request nonce');
  if (family.typeTag && top.u32(Tag.TYPE) !== 1) invalid('response TYPE is not 1');
  if (family.versList) {
    const versions = srep.u32List(Tag.VERS);
    for (let i = 1; i < versions.length; i++)
      if (versions[i]! <= versions[i - 1]!) invalid('SREP VERS is not strictly ascending');
    if (!versions.includes(seen.wireVersion as number)) invalid('SREP VERS does not list the version of the response');
  }
  if (seen.mint > seen.midp || seen.midp > seen.maxt)
    invalid(`MIDP ${seen.midp} lies outside the delegation window [${seen.mint}, ${seen.maxt}]`);

  const leafInput = family.leafInput === 'nonce' ? request.nonce : input.request;
  const walked = rootFromPath(family.hashBytes, leafHash(family.hashBytes, leafInput), path, index);
  if ('reason' in walked) invalid(walked.reason);
  if (!equalBytes(walked.root, root)) invalid('the Merkle path does not lead to SREP ROOT');

  if (!verifyDelegation(longTermKey, input.publicKey, family, cert.require(Tag.DELE), certSignature))
    invalid('the delegation is not signed by the long-term key');
  if (!verifySignature(ed25519PublicKey(onlineKeyBytes), family.responseContext, top.require(Tag.SREP), signature))
    invalid('SREP is not signed by the delegated key');
}

/**
 * Delegations already verified, so a batch of responses under one certificate costs one
 * long-term signature check. Keyed by everything the check depends on; bounded.
 */
const verifiedDelegations = new Set<string>();
const MAX_CACHED_DELEGATIONS = 256;

function verifyDelegation(
  longTermKey: KeyObject,
  publicKey: Uint8Array,
  family: VersionFamily,
  dele: Uint8Array,
  signature: Uint8Array,
): boolean {
  const b64 = (bytes: Uint8Array): string =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const id = `${family.id}:${b64(publicKey)}:${b64(signature)}:${b64(dele)}`;
  if (verifiedDelegations.has(id)) return true;
  if (!verifySignature(longTermKey, family.delegationContext, dele, signature)) return false;
  if (verifiedDelegations.size >= MAX_CACHED_DELEGATIONS) verifiedDelegations.clear();
  verifiedDelegations.add(id);
  return true;
}
