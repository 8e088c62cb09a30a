/**
 * Requests: building one (client) and reading one (verifier and server). A request offers
 * versions in VER (ascending, at most 32), carries a nonce, TYPE=0, optionally SRV naming the
 * server key it wants, and is padded so the message is 1024 bytes: the anti-amplification rule
 * that a response is never larger than its request depends on that padding.
 */
import { SaturnError } from '../errors.js';
import { serverId } from './crypto.js';
import { frame, isFramed, unframe } from './frame.js';
import { RtMessage, encodeMessage, malformed, u32le, u32listLe } from './message.js';
import { Tag } from './tags.js';
import { GOOGLE, familyOf, versionPreference, type VersionFamily, type WireVersion } from './versions.js';

/** Bytes of the request message a client sends (the packet adds the 12-byte frame). */
export const REQUEST_MESSAGE_BYTES = 1024;
/** Smallest request packet a server answers. */
export const MIN_REQUEST_PACKET_BYTES = 1024;
/** Most entries a VER list may hold. */
export const MAX_VERSIONS = 32;

export interface RequestOptions {
  /** `google` for the original protocol, or the IETF versions to offer (sent ascending). */
  readonly versions: 'google' | readonly number[];
  /** 64 bytes for Google, 32 otherwise. */
  readonly nonce: Uint8Array;
  /** When given, SRV names this long-term key so a server holding several keys picks the right one. */
  readonly serverPublicKey?: Uint8Array;
}

/** Builds a request packet. */
export function buildRequest(options: RequestOptions): Uint8Array {
  if (options.versions === 'google') {
    if (options.nonce.byteLength !== GOOGLE.nonceBytes) throw new RangeError(`a Google nonce is 64 bytes, got ${options.nonce.byteLength}`);
    return padded([[Tag.NONC, options.nonce]], Tag.PAD);
  }
  const versions = [...new Set(options.versions)].sort((a, b) => a - b);
  if (versions.length === 0 || versions.length > MAX_VERSIONS) throw new RangeError(`offer 1 to ${MAX_VERSIONS} versions, got ${versions.length}`);
  for (const version of versions) {
    if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new RangeError(`version ${version} is not a uint32`);
  }
  if (options.nonce.byteLength !== 32) throw new RangeError(`an IETF nonce is 32 bytes, got ${options.nonce.byteLength}`);
  const fields: Array<readonly [number, Uint8Array]> = [
    [Tag.VER, u32listLe(versions)],
    [Tag.NONC, options.nonce],
    [Tag.TYPE, u32le(0)],
  ];
  if (options.serverPublicKey !== undefined) fields.push([Tag.SRV, serverId(options.serverPublicKey)]);
  return frame(padded(fields, Tag.ZZZZ));
}

function padded(fields: ReadonlyArray<readonly [number, Uint8Array]>, padTag: number): Uint8Array {
  const used = 8 * (fields.length + 1) + fields.reduce((sum, [, value]) => sum + value.byteLength, 0);
  return encodeMessage([...fields, [padTag, new Uint8Array(REQUEST_MESSAGE_BYTES - used)]]);
}

/** What a request says, read without judging whether a server would answer it. */
export interface DecodedRequest {
  /** `google` for an unframed request, else the VER list in the order sent. */
  readonly offered: 'google' | readonly number[];
  readonly nonce: Uint8Array;
  /** SRV if present. */
  readonly serverId: Uint8Array | undefined;
  readonly message: RtMessage;
}

/** Reads a request packet; SATURN_ERR_RT_MALFORMED if it is not one. */
export function decodeRequest(packet: Uint8Array): DecodedRequest {
  if (!isFramed(packet)) {
    const message = RtMessage.parse(packet, 'request');
    return { offered: 'google', nonce: message.require(Tag.NONC, GOOGLE.nonceBytes), serverId: undefined, message };
  }
  const message = RtMessage.parse(unframe(packet), 'request');
  const offered = message.u32List(Tag.VER, MAX_VERSIONS);
  const nonce = message.require(Tag.NONC, 32);
  const type = message.get(Tag.TYPE);
  if (type !== undefined && (type.byteLength !== 4 || message.u32(Tag.TYPE) !== 0)) throw malformed('request TYPE is not 0');
  const srv = message.get(Tag.SRV);
  if (srv !== undefined && srv.byteLength !== 32) throw malformed(`request SRV is ${srv.byteLength} bytes, expected 32`);
  return { offered, nonce, serverId: srv, message };
}

/** A request a server has decided to answer. */
export interface AcceptedRequest {
  readonly version: WireVersion;
  readonly family: VersionFamily;
  readonly nonce: Uint8Array;
  /** The bytes the Merkle leaf hashes: the nonce or the whole packet, as the version says. */
  readonly leafInput: Uint8Array;
}

export interface AcceptPolicy {
  /** Versions the server answers (`google` included if it speaks the original). */
  readonly versions: readonly WireVersion[];
  /** SRV values of the server's long-term keys; a request without SRV is answered only if there is one. */
  readonly serverIds: readonly Uint8Array[];
}

/**
 * Decides whether and in which version a server answers a request packet. Throws a SaturnError
 * whose code is the drop reason: RT_SHORT, RT_MALFORMED, RT_VERSION or RT_WRONG_SRV.
 */
export function acceptRequest(packet: Uint8Array, policy: AcceptPolicy): AcceptedRequest {
  if (packet.byteLength < MIN_REQUEST_PACKET_BYTES) throw new SaturnError('SATURN_ERR_RT_SHORT', `request of ${packet.byteLength} bytes is shorter than ${MIN_REQUEST_PACKET_BYTES}`);
  const request = decodeRequest(packet);
  let version: WireVersion | undefined;
  if (request.offered === 'google') {
    if (policy.versions.includes('google')) version = 'google';
  } else {
    // Clients should send VER ascending, but one well-known client sends it descending: pick by preference, not position.
    for (const offered of request.offered) {
      if (policy.versions.includes(offered) && (version === undefined || versionPreference(offered) > versionPreference(version as number))) version = offered;
    }
  }
  const family = version === undefined ? undefined : familyOf(version);
  if (version === undefined || family === undefined) throw new SaturnError('SATURN_ERR_RT_VERSION', 'request offers no version this server speaks');
  if (family.id === 'rfc' && !request.message.has(Tag.TYPE)) throw malformed('version 1 request has no TYPE');
  if (request.serverId !== undefined) {
    const wanted = request.serverId;
    if (!policy.serverIds.some((id) => Buffer.compare(id, wanted) === 0)) throw new SaturnError('SATURN_ERR_RT_WRONG_SRV', 'request SRV names a key this server does not hold');
  } else if (policy.serverIds.length > 1) {
    throw new SaturnError('SATURN_ERR_RT_WRONG_SRV', 'request has no SRV and this server holds several keys');
  }
  return { version, family, nonce: request.nonce, leafInput: family.leafInput === 'nonce' ? request.nonce : packet };
}
