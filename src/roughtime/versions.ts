/**
 * The deployed Roughtime version families, each described once as data. Everything that differs
 * between versions (frame, nonce size, hash length, Merkle leaf input, time unit, where the
 * version is echoed, signature contexts, the tags a response carries) is read from here, so the
 * codec, verifier, responder and client hold no per-version branches of their own.
 */
import { Tag } from './tags.js';

/** A version as negotiated: a uint32 VER value, or `google` for the unversioned original. */
export type WireVersion = number | 'google';

export interface VersionFamily {
  readonly id: 'rfc' | 'draft-12' | 'draft-08' | 'google';
  readonly description: string;
  /** VER values of this family (empty for Google, which has none). */
  readonly wireVersions: readonly number[];
  /** Packets carry the ROUGHTIM frame. */
  readonly framed: boolean;
  readonly nonceBytes: number;
  /** SHA-512 truncated to this many bytes (not SHA-512/256). */
  readonly hashBytes: number;
  /** What a Merkle leaf hashes: the request's nonce, or the whole request packet including its frame. */
  readonly leafInput: 'nonce' | 'request-packet';
  /** Nanoseconds per unit of MIDP, RADI, MINT and MAXT. */
  readonly timeUnitNs: bigint;
  /** Where a response states its version: nowhere, at its top level, or inside SREP (signed). */
  readonly versionIn: 'none' | 'top' | 'srep';
  /** Requests carry TYPE=0 and responses TYPE=1. */
  readonly typeTag: boolean;
  /** SREP lists the server's versions in VERS. */
  readonly versList: boolean;
  readonly delegationContext: Uint8Array;
  readonly responseContext: Uint8Array;
  /**
   * How a chained nonce commits to the previous response: `direct` H(response ‖ rand) (IETF), or
   * `prehashed` H(H(response) ‖ blind) (Google with full SHA-512, Cloudflare's drafts truncated).
   */
  readonly chainForm: 'direct' | 'prehashed';
  /** Tags a response may carry at its top level, and which of them must be there. */
  readonly responseTags: readonly number[];
  readonly requiredResponseTags: readonly number[];
  readonly srepTags: readonly number[];
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const RESPONSE_CONTEXT = ascii('RoughTime v1 response signature\0');
const DELEGATION_CONTEXT_OLD = ascii('RoughTime v1 delegation signature--\0');
const DELEGATION_CONTEXT = ascii('RoughTime v1 delegation signature\0');
const NS_PER_MICRO = 1_000n;
const NS_PER_SECOND = 1_000_000_000n;

const CURRENT_RESPONSE_TAGS = [Tag.SIG, Tag.NONC, Tag.TYPE, Tag.PATH, Tag.SREP, Tag.CERT, Tag.INDX];

export const RFC: VersionFamily = {
  id: 'rfc',
  description: 'RFC 10049 (version 1)',
  wireVersions: [0x00000001],
  framed: true,
  nonceBytes: 32,
  hashBytes: 32,
  leafInput: 'request-packet',
  timeUnitNs: NS_PER_SECOND,
  versionIn: 'srep',
  typeTag: true,
  versList: true,
  delegationContext: DELEGATION_CONTEXT,
  responseContext: RESPONSE_CONTEXT,
  chainForm: 'direct',
  responseTags: CURRENT_RESPONSE_TAGS,
  requiredResponseTags: CURRENT_RESPONSE_TAGS,
  srepTags: [Tag.VER, Tag.RADI, Tag.MIDP, Tag.VERS, Tag.ROOT],
};

export const DRAFT_12: VersionFamily = {
  ...RFC,
  id: 'draft-12',
  description: 'drafts 12-19 (0x8000000c)',
  wireVersions: [0x8000000c],
};

export const DRAFT_08: VersionFamily = {
  id: 'draft-08',
  description: 'drafts 08-11 (0x80000008-0x8000000b)',
  wireVersions: [0x80000008, 0x80000009, 0x8000000a, 0x8000000b],
  framed: true,
  nonceBytes: 32,
  hashBytes: 32,
  leafInput: 'nonce',
  timeUnitNs: NS_PER_SECOND,
  versionIn: 'top',
  typeTag: false,
  versList: false,
  delegationContext: DELEGATION_CONTEXT_OLD,
  responseContext: RESPONSE_CONTEXT,
  chainForm: 'prehashed',
  responseTags: [Tag.SIG, Tag.VER, Tag.NONC, Tag.PATH, Tag.SREP, Tag.CERT, Tag.INDX],
  requiredResponseTags: [Tag.SIG, Tag.VER, Tag.NONC, Tag.PATH, Tag.SREP, Tag.CERT, Tag.INDX],
  srepTags: [Tag.RADI, Tag.MIDP, Tag.ROOT],
};

export const GOOGLE: VersionFamily = {
  id: 'google',
  description: 'Google original (unversioned)',
  wireVersions: [],
  framed: false,
  nonceBytes: 64,
  hashBytes: 64,
  leafInput: 'nonce',
  timeUnitNs: NS_PER_MICRO,
  versionIn: 'none',
  typeTag: false,
  versList: false,
  delegationContext: DELEGATION_CONTEXT_OLD,
  responseContext: RESPONSE_CONTEXT,
  chainForm: 'prehashed',
  // The original server sends no NONC; Cloudflare's echoes it. Either is fine: the leaf covers it.
  responseTags: [Tag.SIG, Tag.NONC, Tag.PATH, Tag.SREP, Tag.CERT, Tag.INDX],
  requiredResponseTags: [Tag.SIG, Tag.PATH, Tag.SREP, Tag.CERT, Tag.INDX],
  srepTags: [Tag.RADI, Tag.MIDP, Tag.ROOT],
};

export const FAMILIES: readonly VersionFamily[] = [RFC, DRAFT_12, DRAFT_08, GOOGLE];

/** Every IETF version this client speaks, ascending as a VER list must be. */
export const ALL_IETF_VERSIONS: readonly number[] = [RFC, DRAFT_12, DRAFT_08]
  .flatMap((family) => family.wireVersions)
  .sort((a, b) => a - b);

/** The family of a version, or undefined for a version this code does not speak. */
export function familyOf(version: WireVersion): VersionFamily | undefined {
  if (version === 'google') return GOOGLE;
  return FAMILIES.find((family) => family.wireVersions.includes(version));
}

/** Server preference: the RFC first, then newer drafts before older ones. */
export function versionPreference(version: number): number {
  return version === 1 ? Number.MAX_SAFE_INTEGER : version;
}

/** How a version is printed: `google`, `1`, `0x8000000c`. */
export function versionLabel(version: WireVersion): string {
  if (version === 'google') return 'google';
  if (version < 0x80000000) return String(version);
  return `0x${version.toString(16).padStart(8, '0')}`;
}

/** Reads a version label (`google`, `1`, `0x8000000c`, `2147483660`); undefined if it is none we speak. */
export function parseVersionLabel(label: string): WireVersion | undefined {
  const text = label.trim().toLowerCase();
  if (text === 'google' || text === 'google-roughtime') return 'google';
  const value = /^0x[0-9a-f]{1,8}$/.test(text)
    ? Number.parseInt(text.slice(2), 16)
    : /^[0-9]{1,10}$/.test(text)
      ? Number(text)
      : NaN;
  if (!Number.isInteger(value) || value > 0xffffffff) return undefined;
  return familyOf(value) ? value : undefined;
}

/** A wire time value (MIDP, MINT, MAXT) in nanoseconds since the epoch. */
export function timeToNanos(family: VersionFamily, raw: bigint): bigint {
  return raw * family.timeUnitNs;
}

/** A wire radius (RADI) in nanoseconds. */
export function radiusToNanos(family: VersionFamily, raw: number): number {
  return raw * Number(family.timeUnitNs);
}

/** Nanoseconds as a wire time value, rounded down (MIDP, MINT) or up (MAXT). */
export function nanosToTime(family: VersionFamily, ns: bigint, rounding: 'floor' | 'ceil'): bigint {
  const unit = family.timeUnitNs;
  const quotient = ns / unit;
  return rounding === 'ceil' && quotient * unit < ns ? quotient + 1n : quotient;
}

/** Nanoseconds as a wire radius, rounded up so the stated uncertainty is never too small, at least 1. */
export function nanosToRadius(family: VersionFamily, ns: number): number {
  const raw = Math.ceil(ns / Number(family.timeUnitNs));
  return Math.min(0xffffffff, Math.max(1, raw));
}
