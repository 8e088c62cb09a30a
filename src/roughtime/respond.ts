/**
 * Pure response building for a batch: one Merkle tree and one online signature per version in
 * the batch, then one response per request. The test server uses it now; the pipeline server
 * reuses it inside its workers. Nothing here reads a clock: the caller passes the time.
 */
import { SaturnError, type ErrorCode } from '../errors.js';
import { signMessage, type SigningKey } from './crypto.js';
import { frame } from './frame.js';
import { buildTree, leafHash } from './merkle.js';
import { encodeMessage, u32le, u32listLe, u64le } from './message.js';
import { acceptRequest, type AcceptPolicy, type AcceptedRequest } from './request.js';
import { Tag } from './tags.js';
import { FAMILIES, nanosToRadius, nanosToTime, type VersionFamily, type WireVersion } from './versions.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** An online key delegated by the long-term key for [mint, maxt], with its CERT for each version family. */
export interface Delegation {
  readonly onlineKey: SigningKey;
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
  readonly certs: ReadonlyMap<VersionFamily['id'], Uint8Array>;
}

export interface DelegationOptions {
  readonly longTermKey: SigningKey;
  readonly onlineKey: SigningKey;
  /** Start and end of the window the online key may sign for, nanoseconds since the epoch. */
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
}

/** Signs the delegation once per version family (time units and signature contexts differ). */
export function createDelegation(options: DelegationOptions): Delegation {
  if (options.maxtNs < options.mintNs)
    throw new RangeError(`delegation ends (${options.maxtNs}) before it starts (${options.mintNs})`);
  const certs = new Map<VersionFamily['id'], Uint8Array>();
  for (const family of FAMILIES) {
    const clamp = (value: bigint): bigint => (value > U64_MAX ? U64_MAX : value < 0n ? 0n : value);
    const dele = encodeMessage([
      [Tag.PUBK, options.onlineKey.publicKey],
      [Tag.MINT, u64le(clamp(nanosToTime(family, options.mintNs, 'floor')))],
      [Tag.MAXT, u64le(clamp(nanosToTime(family, options.maxtNs, 'ceil')))],
    ]);
    const signature = signMessage(options.longTermKey, family.delegationContext, dele);
    certs.set(
      family.id,
      encodeMessage([
        [Tag.SIG, signature],
        [Tag.DELE, dele],
      ]),
    );
  }
  return { onlineKey: options.onlineKey, mintNs: options.mintNs, maxtNs: options.maxtNs, certs };
}

export interface BatchTime {
  /** The time to state, nanoseconds since the epoch; must lie in the delegation window. */
  readonly midpNs: bigint;
  /** Its uncertainty in nanoseconds (rounded up to the version's unit, at least one unit). */
  readonly radiNs: number;
}

/** Builds the responses to requests already accepted, in the same order. */
export function buildResponses(
  requests: readonly AcceptedRequest[],
  delegation: Delegation,
  time: BatchTime,
  serverVersions: readonly WireVersion[],
): Uint8Array[] {
  if (time.midpNs < delegation.mintNs || time.midpNs > delegation.maxtNs)
    throw new RangeError(`MIDP ${time.midpNs} lies outside the delegation window`);
  const responses = new Array<Uint8Array>(requests.length);
  const groups = new Map<WireVersion, number[]>();
  requests.forEach((request, i) => {
    const group = groups.get(request.version);
    if (group) group.push(i);
    else groups.set(request.version, [i]);
  });
  const versList = u32listLe(serverVersions.filter((v): v is number => v !== 'google').sort((a, b) => a - b));
  for (const [version, indexes] of groups) {
    const family = requests[indexes[0]!]!.family;
    const tree = buildTree(
      family.hashBytes,
      indexes.map((i) => leafHash(family.hashBytes, requests[i]!.leafInput)),
    );
    const srepFields: Array<readonly [number, Uint8Array]> = [
      [Tag.RADI, u32le(nanosToRadius(family, time.radiNs))],
      [Tag.MIDP, u64le(nanosToTime(family, time.midpNs, 'floor'))],
      [Tag.ROOT, tree.root],
    ];
    if (family.versionIn === 'srep') srepFields.push([Tag.VER, u32le(version as number)]);
    if (family.versList) srepFields.push([Tag.VERS, versList]);
    const srep = encodeMessage(srepFields);
    const signature = signMessage(delegation.onlineKey, family.responseContext, srep);
    const cert = delegation.certs.get(family.id)!;
    indexes.forEach((requestIndex, leafIndex) => {
      const fields: Array<readonly [number, Uint8Array]> = [
        [Tag.SIG, signature],
        [Tag.NONC, requests[requestIndex]!.nonce],
        [Tag.PATH, tree.paths[leafIndex]!],
        [Tag.SREP, srep],
        [Tag.CERT, cert],
        [Tag.INDX, u32le(leafIndex)],
      ];
      if (family.versionIn === 'top') fields.push([Tag.VER, u32le(version as number)]);
      if (family.typeTag) fields.push([Tag.TYPE, u32le(1)]);
      const message = encodeMessage(fields);
      responses[requestIndex] = family.framed ? frame(message) : message;
    });
  }
  return responses;
}

/** What became of one request of a batch: a response to send, or the reason it is dropped. */
export type BatchOutcome = { readonly response: Uint8Array } | { readonly dropped: ErrorCode; readonly reason: string };

export interface ResponderConfig extends AcceptPolicy {
  readonly delegation: Delegation;
}

/**
 * Answers a batch of raw request packets: decides per packet whether to answer (see
 * acceptRequest), builds the responses, and drops any response that would be larger than its
 * request (no amplification).
 */
export function respondToBatch(
  packets: readonly Uint8Array[],
  config: ResponderConfig,
  time: BatchTime,
): BatchOutcome[] {
  const outcomes = new Array<BatchOutcome>(packets.length);
  const accepted: AcceptedRequest[] = [];
  const positions: number[] = [];
  packets.forEach((packet, i) => {
    try {
      accepted.push(acceptRequest(packet, config));
      positions.push(i);
    } catch (error) {
      outcomes[i] =
        error instanceof SaturnError
          ? { dropped: error.code, reason: error.message }
          : { dropped: 'SATURN_ERR_RT_MALFORMED', reason: String(error) };
    }
  });
  if (accepted.length > 0) {
    const responses = buildResponses(accepted, config.delegation, time, config.versions);
    responses.forEach((response, k) => {
      const i = positions[k]!;
      outcomes[i] =
        response.byteLength <= packets[i]!.byteLength
          ? { response }
          : {
              dropped: 'SATURN_ERR_RT_SHORT',
              reason: `response of ${response.byteLength} bytes would exceed the ${packets[i]!.byteLength}-byte request`,
            };
    });
  }
  return outcomes;
}
