/**
 * Requests: building one (client) and reading one (verifier and server). A request offers
 * versions in VER (ascending, at most 32), carries a nonce, TYPE=0, optionally SRV naming the
 * server key it wants, and is padded so the message is 1024 bytes: the anti-amplification rule
 * that a response is never larger than its request depends on that padding.
 */
import { serverId } from './crypto.js';
import { frame, isFramed, readFramed } from './frame.js';
import { RtMessage, encodeMessage, malformed, u32le, u32listLe } from './message.js';
import { Tag } from './tags.js';
import { GOOGLE, familyOf, versionPreference, type VersionFamily, type WireVersion } from './versions.js';

/** Bytes of the request message a client sends (the packet adds the 12-byte frame). */
export const REQUEST_MESSAGE_BYTES = 1024;
/** Smallest request packet a server answers. */
export const MIN_REQUEST_PACKET_BYTES = 1024;
/**
 * Largest request packet a server answers: what one unfragmented UDP/IPv4 datagram carries over
 * a 1500-byte MTU. Clients send 1024 or 1036 bytes; a longer datagram is garbage or a flood, and
 * (versions whose leaf hashes the whole request) would cost hashing in proportion to its size.
 */
export const MAX_REQUEST_PACKET_BYTES = 1472;
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
    if (options.nonce.byteLength !== GOOGLE.nonceBytes)
      throw new RangeError(`a Google nonce is 64 bytes, got ${options.nonce.byteLength}`);
    return padded([[Tag.NONC, options.nonce]], Tag.PAD);
  }
  const versions = [...new Set(options.versions)].sort((a, b) => a - b);
  if (versions.length === 0 || versions.length > MAX_VERSIONS)
    throw new RangeError(`offer 1 to ${MAX_VERSIONS} versions, got ${versions.length}`);
  for (const version of versions) {
    if (!Number.isInteger(version) || version < 0 || version > 0xffffffff)
      throw new RangeError(`version ${version} is not a uint32`);
  }
  if (options.nonce.byteLength !== 32)
    throw new RangeError(`an IETF nonce is 32 bytes, got ${options.nonce.byteLength}`);
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

/** Reads a request packet; throws SATURN_ERR_RT_MALFORMED if it is not one (for tools reading files). */
export function decodeRequest(packet: Uint8Array): DecodedRequest {
  const request = readRequest(packet);
  if (typeof request === 'string') throw malformed(request);
  return request;
}

/** Reads a request packet; the reason (one sentence) if it is not one. Never throws. */
export function readRequest(packet: Uint8Array): DecodedRequest | string {
  if (!isFramed(packet)) {
    const message = RtMessage.read(packet, 'request');
    if (typeof message === 'string') return message;
    const nonce = message.get(Tag.NONC);
    if (nonce === undefined) return 'request has no NONC';
    if (nonce.byteLength !== GOOGLE.nonceBytes)
      return `request NONC is ${nonce.byteLength} bytes, expected ${GOOGLE.nonceBytes}`;
    return { offered: 'google', nonce, serverId: undefined, message };
  }
  const unframed = readFramed(packet);
  if (typeof unframed === 'string') return unframed;
  const message = RtMessage.read(unframed, 'request');
  if (typeof message === 'string') return message;
  const ver = message.get(Tag.VER);
  if (ver === undefined) return 'request has no VER';
  const entries = ver.byteLength / 4;
  if (entries < 1 || entries > MAX_VERSIONS) return `request VER has ${entries} entries, expected 1 to ${MAX_VERSIONS}`;
  const view = new DataView(ver.buffer, ver.byteOffset, ver.byteLength);
  const offered: number[] = [];
  for (let i = 0; i < entries; i++) offered.push(view.getUint32(4 * i, true));
  const nonce = message.get(Tag.NONC);
  if (nonce === undefined) return 'request has no NONC';
  if (nonce.byteLength !== 32) return `request NONC is ${nonce.byteLength} bytes, expected 32`;
  const type = message.get(Tag.TYPE);
  if (
    type !== undefined &&
    (type.byteLength !== 4 || new DataView(type.buffer, type.byteOffset, 4).getUint32(0, true) !== 0)
  )
    return 'request TYPE is not 0';
  const srv = message.get(Tag.SRV);
  if (srv !== undefined && srv.byteLength !== 32) return `request SRV is ${srv.byteLength} bytes, expected 32`;
  return { offered, nonce, serverId: srv, message };
}

/** A request a server has decided to answer. */
export interface AcceptedRequest {
  readonly accepted: true;
  readonly version: WireVersion;
  readonly family: VersionFamily;
  readonly nonce: Uint8Array;
  /** The bytes the Merkle leaf hashes: the nonce or the whole packet, as the version says. */
  readonly leafInput: Uint8Array;
}

/** A request a server does not answer, and why (the code is the drop counter's reason). */
export interface RefusedRequest {
  readonly accepted: false;
  readonly code:
    | 'SATURN_ERR_RT_SHORT'
    | 'SATURN_ERR_RT_LONG'
    | 'SATURN_ERR_RT_MALFORMED'
    | 'SATURN_ERR_RT_VERSION'
    | 'SATURN_ERR_RT_WRONG_SRV';
  readonly reason: string;
}

export interface AcceptPolicy {
  /** Versions the server answers (`google` included if it speaks the original). */
  readonly versions: readonly WireVersion[];
  /** SRV values of the server's long-term keys; a request without SRV is answered only if there is one. */
  readonly serverIds: readonly Uint8Array[];
}

const refuse = (code: RefusedRequest['code'], reason: string): RefusedRequest => ({ accepted: false, code, reason });

/**
 * Decides whether and in which version a server answers a request packet. A verdict, never an
 * exception (a server judges every datagram it receives): refused with RT_SHORT, RT_LONG,
 * RT_MALFORMED, RT_VERSION or RT_WRONG_SRV.
 */
export function judgeRequest(packet: Uint8Array, policy: AcceptPolicy): AcceptedRequest | RefusedRequest {
  if (packet.byteLength < MIN_REQUEST_PACKET_BYTES)
    return refuse(
      'SATURN_ERR_RT_SHORT',
      `request of ${packet.byteLength} bytes is shorter than ${MIN_REQUEST_PACKET_BYTES}`,
    );
  if (packet.byteLength > MAX_REQUEST_PACKET_BYTES)
    return refuse(
      'SATURN_ERR_RT_LONG',
      `request of ${packet.byteLength} bytes is longer than ${MAX_REQUEST_PACKET_BYTES}`,
    );
  const request = readRequest(packet);
  if (typeof request === 'string') return refuse('SATURN_ERR_RT_MALFORMED', request);
  let version: WireVersion | undefined;
  if (request.offered === 'google') {
    if (policy.versions.includes('google')) version = 'google';
  } else {
    // Clients should send VER ascending, but one well-known client sends it descending: pick by preference, not position.
    for (const offered of request.offered) {
      if (
        policy.versions.includes(offered) &&
        (version === undefined || versionPreference(offered) > versionPreference(version as number))
      )
        version = offered;
    }
  }
  const family = version === undefined ? undefined : familyOf(version);
  if (version === undefined || family === undefined)
    return refuse('SATURN_ERR_RT_VERSION', 'request offers no version this server speaks');
  if (family.id === 'rfc' && !request.message.has(Tag.TYPE))
    return refuse('SATURN_ERR_RT_MALFORMED', 'version 1 request has no TYPE');
  if (request.serverId !== undefined) {
    const wanted = request.serverId;
    if (!policy.serverIds.some((id) => Buffer.compare(id, wanted) === 0))
      return refuse('SATURN_ERR_RT_WRONG_SRV', 'request SRV names a key this server does not hold');
  } else if (policy.serverIds.length > 1) {
    return refuse('SATURN_ERR_RT_WRONG_SRV', 'request has no SRV and this server holds several keys');
  }
  return {
    accepted: true,
    version,
    family,
    nonce: request.nonce,
    leafInput: family.leafInput === 'nonce' ? request.nonce : packet,
  };
}

const FRAME_MAGIC_LO = 0x47554f52; // "ROUG", little-endian
const FRAME_MAGIC_HI = 0x4d495448; // "HTIM"
/** Tags the fast scanner reads at most; a request with more goes to judgeRequest. */
const SCAN_MAX_TAGS = 16;

/**
 * The server's hot path for the common request: a framed IETF request whose message is well
 * formed, offers a version the policy speaks and carries a valid NONC (and TYPE/SRV if any). It
 * reads the tag table in place, allocating nothing, and reports only success; for anything else
 * (Google requests, malformed or refused requests, more than 16 tags) `scan` returns false and
 * the caller asks judgeRequest, which stays the one judge of errors and their codes. When `scan`
 * returns true, `version`, `family` and `nonceAt` are what judgeRequest would have returned
 * (nonce = packet[nonceAt, nonceAt + 32); leafInput = the nonce or the whole packet, per family).
 * A property test checks the two agree on random and mutated requests.
 */
export class RequestScanner {
  version = 0;
  family: VersionFamily = GOOGLE;
  nonceAt = 0;
  private readonly versions: readonly number[];
  private readonly families: ReadonlyMap<number, VersionFamily>;
  private readonly serverIds: readonly Uint8Array[];
  private wordsOf: ArrayBufferLike | undefined;
  private words: Uint32Array = new Uint32Array(0);

  constructor(policy: AcceptPolicy) {
    const families = new Map<number, VersionFamily>();
    const versions: number[] = [];
    for (const version of policy.versions) {
      if (version === 'google') continue;
      // A version without a family stays in the list: if it is the preferred offer, judgeRequest refuses the request.
      versions.push(version);
      const family = familyOf(version);
      if (family !== undefined) families.set(version, family);
    }
    this.versions = versions;
    this.families = families;
    this.serverIds = policy.serverIds;
  }

  /** True if the packet is answered in `version` with the nonce at `nonceAt`; false: ask judgeRequest. */
  scan(packet: Uint8Array): boolean {
    const length = packet.byteLength;
    if (!LITTLE_ENDIAN || length < MIN_REQUEST_PACKET_BYTES || length > MAX_REQUEST_PACKET_BYTES || (length & 3) !== 0)
      return false;
    const base = packet.byteOffset;
    let words: Uint32Array;
    let w: number; // the packet's first word in `words`
    if ((base & 3) === 0) {
      // Every packet of a batch shares one buffer: one word view over it serves them all.
      if (packet.buffer !== this.wordsOf) {
        this.wordsOf = packet.buffer;
        this.words = new Uint32Array(packet.buffer, 0, packet.buffer.byteLength >>> 2);
      }
      words = this.words;
      w = base >>> 2;
    } else {
      words = new Uint32Array(length >>> 2);
      new Uint8Array(words.buffer).set(packet);
      w = 0;
    }
    if (words[w] !== FRAME_MAGIC_LO || words[w + 1] !== FRAME_MAGIC_HI) return false;
    const messageBytes = length - FRAME_HEADER_WORDS * 4;
    if (words[w + 2] !== messageBytes) return false;
    const m = w + FRAME_HEADER_WORDS; // the message's first word
    const count = words[m]!;
    if (count === 0 || count > SCAN_MAX_TAGS || count * 8 > messageBytes) return false;
    const headerBytes = count * 8;
    const valuesBytes = messageBytes - headerBytes;
    let verStart = -1;
    let verEnd = -1;
    let nonceStart = -1;
    let hasType = false;
    let srvStart = -1;
    let previousTag = -1;
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = i + 1 < count ? words[m + 1 + i]! : valuesBytes;
      if ((end & 3) !== 0 || end > valuesBytes || end < start) return false;
      const tag = words[m + count + i]!;
      if (tag <= previousTag) return false;
      previousTag = tag;
      const size = end - start;
      const at = 4 * (m - w) + headerBytes + start; // byte offset in the packet
      if (tag === Tag.VER) {
        if (size < 4 || size > 4 * MAX_VERSIONS) return false;
        verStart = at;
        verEnd = at + size;
      } else if (tag === Tag.NONC) {
        if (size !== 32) return false;
        nonceStart = at;
      } else if (tag === Tag.TYPE) {
        if (size !== 4 || words[w + (at >>> 2)] !== 0) return false;
        hasType = true;
      } else if (tag === Tag.SRV) {
        if (size !== 32) return false;
        srvStart = at;
      }
      start = end;
    }
    if (verStart < 0 || nonceStart < 0) return false;
    let version = -1;
    let preference = -1;
    for (let at = verStart; at < verEnd; at += 4) {
      const offered = words[w + (at >>> 2)]!;
      if (!this.versions.includes(offered)) continue;
      const p = versionPreference(offered);
      if (p > preference) {
        version = offered;
        preference = p;
      }
    }
    if (version < 0) return false;
    const family = this.families.get(version);
    if (family === undefined) return false;
    if (family.id === 'rfc' && !hasType) return false;
    if (srvStart >= 0) {
      if (!this.holdsServerId(packet, srvStart)) return false;
    } else if (this.serverIds.length > 1) {
      return false;
    }
    this.version = version;
    this.family = family;
    this.nonceAt = nonceStart;
    return true;
  }

  private holdsServerId(packet: Uint8Array, at: number): boolean {
    next: for (const id of this.serverIds) {
      if (id.byteLength !== 32) continue;
      for (let i = 0; i < 32; i++) if (id[i] !== packet[at + i]) continue next;
      return true;
    }
    return false;
  }
}

const FRAME_HEADER_WORDS = 3;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
