/**
 * The Roughtime responder, the one the server runs (in its pipeline workers), pure: no sockets,
 * no clock (the time to state arrives as a parameter). For a batch it judges each request
 * (RequestScanner for the common request, judgeRequest for the rest: a verdict, never an
 * exception), then per version in the batch builds one Merkle tree and signs one SREP, and
 * writes each reply by copying one template and patching NONC, PATH and INDX, the only fields
 * that differ. The tree's short inputs are hashed a level per call in WebAssembly (TreeBuilder).
 *
 * Tree padding: a level of odd width is completed with a copy of its first node, as
 * Cloudflare's server does (its published replies are reproduced byte for byte), so only real
 * leaves are ever signed and a batch of n requests costs n leaf and about n node hashes.
 */
import { hash } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import type { BatchOutput } from '../pipeline/batch-codec.js';
import { signMessage, signingKeyFromSeed, type SigningKey } from './crypto.js';
import type { Delegation } from './delegation.js';
import { frame, unframe } from './frame.js';
import { RtMessage, encodeMessage, u32le, u32listLe, u64le } from './message.js';
import { RequestScanner, judgeRequest, type AcceptPolicy } from './request.js';
import { DATA_AT, Sha512Many } from './sha512-many.js';
import { Tag } from './tags.js';
import { nanosToRadius, nanosToTime, type VersionFamily, type WireVersion } from './versions.js';

/** The time a batch states. */
export interface BatchTime {
  /** MIDP, nanoseconds since the epoch. */
  readonly midpNs: bigint;
  /** RADI in nanoseconds: rounded up to the version's unit, never below one unit. */
  readonly radiNs: number;
}

interface LiveDelegation {
  readonly onlineKey: SigningKey;
  readonly mintNs: bigint;
  readonly maxtNs: bigint;
  readonly certs: ReadonlyMap<VersionFamily['id'], Uint8Array>;
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
/** How many delegations a responder keeps: the current one and the one it replaced. */
const KEPT_DELEGATIONS = 2;

export class BatchResponder {
  private delegations: LiveDelegation[] = [];
  private readonly versList: Uint8Array;
  private readonly scanner: RequestScanner;
  // Per request of the current batch (grown as needed, reused): its version group (-1: dropped),
  // where its nonce starts in the packet, and its leaf index in its group's tree.
  private groupOf = new Int32Array(0);
  private nonceAt = new Int32Array(0);
  private leafOf = new Int32Array(0);
  private readonly drops: Array<ErrorCode | undefined> = [];
  /** One tree per version group of a batch: every group's replies are written after all trees are built. */
  private readonly trees: TreeBuilder[] = [];
  /** The last reply template of each version (rebuilt when the tree's depth or the delegation changes). */
  private readonly shapes = new Map<WireVersion, ReplyShape>();

  constructor(
    private readonly policy: AcceptPolicy,
    delegation: Delegation,
  ) {
    this.versList = u32listLe(policy.versions.filter((v): v is number => v !== 'google').sort((a, b) => a - b));
    this.scanner = new RequestScanner(policy);
    this.addDelegation(delegation);
  }

  /** Installs a newly delegated online key; the previous one stays usable for its window. */
  addDelegation(wire: Delegation): void {
    const live: LiveDelegation = {
      onlineKey: signingKeyFromSeed(wire.onlineSeed),
      mintNs: wire.mintNs,
      maxtNs: wire.maxtNs,
      certs: new Map(wire.certs),
    };
    this.delegations = [live, ...this.delegations].slice(0, KEPT_DELEGATIONS);
  }

  /** Writes one outcome per request into `out`, in order. */
  respond(packets: readonly Uint8Array[], time: BatchTime, out: BatchOutput): void {
    const delegation = this.delegations.find((d) => d.mintNs <= time.midpNs && time.midpNs <= d.maxtNs);
    if (delegation === undefined) throw new RangeError(`no online key is delegated for MIDP ${time.midpNs}`);
    const n = packets.length;
    if (this.groupOf.length < n) {
      this.groupOf = new Int32Array(n);
      this.nonceAt = new Int32Array(n);
      this.leafOf = new Int32Array(n);
    }
    const { groupOf, nonceAt, leafOf, drops, scanner } = this;
    // Versions seen in this batch, in order of first appearance (almost always one).
    const versions: WireVersion[] = [];
    const families: VersionFamily[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const packet = packets[i]!;
      let version: WireVersion;
      let family: VersionFamily;
      if (scanner.scan(packet)) {
        version = scanner.version;
        family = scanner.family;
        nonceAt[i] = scanner.nonceAt;
      } else {
        const request = judgeRequest(packet, this.policy);
        if (!request.accepted) {
          groupOf[i] = -1;
          drops[i] = request.code;
          continue;
        }
        version = request.version;
        family = request.family;
        nonceAt[i] = request.nonce.byteOffset - packet.byteOffset;
      }
      let group = versions.indexOf(version);
      if (group < 0) {
        group = versions.length;
        versions.push(version);
        families.push(family);
        sizes.push(0);
      }
      groupOf[i] = group;
      leafOf[i] = sizes[group]!++;
    }
    const plans: ReplyPlan[] = [];
    for (let g = 0; g < versions.length; g++)
      plans.push(this.plan(g, versions[g]!, families[g]!, sizes[g]!, packets, delegation, time));
    for (let i = 0; i < n; i++) {
      const group = groupOf[i]!;
      if (group < 0) {
        out.drop(drops[i]!);
        drops[i] = undefined;
        continue;
      }
      const plan = plans[group]!;
      const room = out.reply(plan.template.byteLength);
      if (room !== undefined) plan.write(room, packets[i]!, nonceAt[i]!, leafOf[i]!);
    }
  }

  /** The tree, the signature and the reply template for the requests of one version (group `g`). */
  private plan(
    g: number,
    version: WireVersion,
    family: VersionFamily,
    size: number,
    packets: readonly Uint8Array[],
    delegation: LiveDelegation,
    time: BatchTime,
  ): ReplyPlan {
    const tree = (this.trees[g] ??= new TreeBuilder()).build(family, size, packets, this.groupOf, this.nonceAt, g);
    let shape = this.shapes.get(version);
    if (shape === undefined || shape.depth !== tree.depth || shape.delegation !== delegation) {
      shape = this.shape(version, family, tree.depth, delegation);
      this.shapes.set(version, shape);
    }
    // Only SREP's RADI, MIDP and ROOT, and SIG over SREP, change from one batch to the next.
    const template = shape.template;
    template.set(u32le(nanosToRadius(family, time.radiNs)), shape.radiAt);
    template.set(u64le(nanosToTime(family, time.midpNs, 'floor')), shape.midpAt);
    tree.copyRoot(template, shape.rootAt);
    const srep = template.subarray(shape.srepAt, shape.srepAt + shape.srepBytes);
    template.set(signMessage(delegation.onlineKey, family.responseContext, srep), shape.sigAt);
    return new ReplyPlan(template, tree, family.nonceBytes, shape.nonceAt, shape.pathAt, shape.indexAt);
  }

  /** A reply template of one version, tree depth and delegation, and where its per-batch fields lie. */
  private shape(version: WireVersion, family: VersionFamily, depth: number, delegation: LiveDelegation): ReplyShape {
    const hashBytes = family.hashBytes;
    const srepFields: Array<readonly [number, Uint8Array]> = [
      [Tag.RADI, new Uint8Array(4)],
      [Tag.MIDP, new Uint8Array(8)],
      [Tag.ROOT, new Uint8Array(hashBytes)],
    ];
    if (family.versionIn === 'srep') srepFields.push([Tag.VER, u32le(version as number)]);
    if (family.versList) srepFields.push([Tag.VERS, this.versList]);
    const fields: Array<readonly [number, Uint8Array]> = [
      [Tag.SIG, new Uint8Array(64)],
      [Tag.NONC, new Uint8Array(family.nonceBytes)],
      [Tag.PATH, new Uint8Array(depth * hashBytes)],
      [Tag.SREP, encodeMessage(srepFields)],
      [Tag.CERT, delegation.certs.get(family.id)!],
      [Tag.INDX, new Uint8Array(4)],
    ];
    if (family.versionIn === 'top') fields.push([Tag.VER, u32le(version as number)]);
    if (family.typeTag) fields.push([Tag.TYPE, u32le(1)]);
    const message = encodeMessage(fields);
    const template = family.framed ? frame(message) : message;
    const parsed = RtMessage.parse(family.framed ? unframe(template) : template, 'response template');
    // Parsed values are views into the template: their offsets are where each batch and reply is patched.
    const at = (value: Uint8Array): number => value.byteOffset - template.byteOffset;
    const srepValue = parsed.require(Tag.SREP);
    const srep = parsed.message(Tag.SREP);
    return {
      depth,
      delegation,
      template,
      sigAt: at(parsed.require(Tag.SIG)),
      srepAt: at(srepValue),
      srepBytes: srepValue.byteLength,
      radiAt: at(srep.require(Tag.RADI)),
      midpAt: at(srep.require(Tag.MIDP)),
      rootAt: at(srep.require(Tag.ROOT)),
      nonceAt: at(parsed.require(Tag.NONC)),
      pathAt: at(parsed.require(Tag.PATH)),
      indexAt: at(parsed.require(Tag.INDX)),
    };
  }
}

/** A version's reply template for one tree depth and delegation, and the offsets of its fields in it. */
interface ReplyShape {
  readonly depth: number;
  readonly delegation: LiveDelegation;
  readonly template: Uint8Array;
  readonly sigAt: number;
  readonly srepAt: number;
  readonly srepBytes: number;
  readonly radiAt: number;
  readonly midpAt: number;
  readonly rootAt: number;
  readonly nonceAt: number;
  readonly pathAt: number;
  readonly indexAt: number;
}

/** Writes replies from one template: NONC, PATH and INDX patched per request. */
class ReplyPlan {
  constructor(
    readonly template: Uint8Array,
    private readonly tree: TreeBuilder,
    private readonly nonceBytes: number,
    private readonly nonceAt: number,
    private readonly pathAt: number,
    private readonly indexAt: number,
  ) {}

  write(room: Uint8Array, packet: Uint8Array, nonceAt: number, leaf: number): void {
    room.set(this.template);
    const to = this.nonceAt;
    for (let i = 0; i < this.nonceBytes; i++) room[to + i] = packet[nonceAt + i]!;
    this.tree.writePath(room, this.pathAt, leaf);
    const indexAt = this.indexAt;
    room[indexAt] = leaf & 0xff;
    room[indexAt + 1] = (leaf >>> 8) & 0xff;
    room[indexAt + 2] = (leaf >>> 16) & 0xff;
    room[indexAt + 3] = (leaf >>> 24) & 0xff;
  }
}

/**
 * One Merkle tree at a time, every level in the memory of a WebAssembly SHA-512 (sha512-many.ts):
 * nonce leaves are copied there side by side and hashed in one call, and each level of nodes is
 * hashed in one call from the level below, where left and right already lie side by side. A
 * `crypto.hash` call costs ~0.3 µs more per 1-block input than a hash inside one `hashMany` call
 * (measured here: BENCHMARKS.md); for a whole-request leaf (9 blocks) node:crypto's native
 * compression is faster, so those leaves are hashed there, one call each, with a 'binary'
 * (latin1) string digest written into memory (a Buffer digest costs ~1.1 µs more per call).
 *
 * Tree padding: a level of odd width is completed with a copy of its first node, kept in a spare
 * slot after the level's last node.
 */
class TreeBuilder {
  private readonly sha = new Sha512Many();
  /** Where each level starts (in nodes, from nodesAt), and its width. */
  private readonly levelAt: number[] = [];
  private readonly widths: number[] = [];
  private hashBytes = 32;
  private nodesAt = DATA_AT;
  depth = 0;

  /** Builds the tree over the requests of group `g`, in request order. */
  build(
    family: VersionFamily,
    size: number,
    packets: readonly Uint8Array[],
    groupOf: Int32Array,
    nonceAt: Int32Array,
    g: number,
  ): this {
    const hashBytes = family.hashBytes;
    this.hashBytes = hashBytes;
    const levelAt = this.levelAt;
    const widths = this.widths;
    levelAt.length = 0;
    widths.length = 0;
    let total = 0;
    for (let width = size; ; width = (width + 1) >>> 1) {
      levelAt.push(total);
      widths.push(width);
      // One spare slot per level: the copy of its first node that pads an odd width.
      total += width + 1;
      if (width === 1) break;
    }
    this.depth = widths.length - 1;
    const wholePacket = family.leafInput === 'request-packet';
    const nonceBytes = family.nonceBytes;
    // Nonce leaves' inputs first, then the levels.
    const nodesAt = (this.nodesAt = DATA_AT + (wholePacket ? 0 : size * nonceBytes));
    const sha = this.sha;
    sha.reserve(nodesAt + total * hashBytes);
    const memory = sha.bytes;
    // Leaves: H(0x00 ‖ nonce) or H(0x00 ‖ whole request).
    let leaf = 0;
    for (let i = 0; leaf < size; i++) {
      if (groupOf[i] !== g) continue;
      const packet = packets[i]!;
      if (wholePacket) {
        const input = this.leafInput(packet.byteLength);
        input.set(packet, 1);
        memory.write(hash('sha512', input, 'binary'), nodesAt + leaf * hashBytes, hashBytes, 'latin1');
      } else {
        const from = nonceAt[i]!;
        const to = DATA_AT + leaf * nonceBytes;
        for (let k = 0; k < nonceBytes; k++) memory[to + k] = packet[from + k]!;
      }
      leaf++;
    }
    if (!wholePacket) sha.hashMany(LEAF_PREFIX, DATA_AT, nonceBytes, nonceBytes, size, nodesAt, hashBytes);
    // Nodes: H(0x01 ‖ left ‖ right), left and right adjacent in the level below.
    for (let d = 0; d + 1 < widths.length; d++) {
      const width = widths[d]!;
      const below = nodesAt + levelAt[d]! * hashBytes;
      if (width % 2 === 1) memory.copy(memory, below + width * hashBytes, below, below + hashBytes);
      const pairs = (width + 1) >>> 1;
      sha.hashMany(
        NODE_PREFIX,
        below,
        2 * hashBytes,
        2 * hashBytes,
        pairs,
        nodesAt + levelAt[d + 1]! * hashBytes,
        hashBytes,
      );
    }
    return this;
  }

  /** Copies the root of the last tree into `to` at `at`. */
  copyRoot(to: Uint8Array, at: number): void {
    const from = this.nodesAt + this.levelAt[this.depth]! * this.hashBytes;
    to.set(this.sha.bytes.subarray(from, from + this.hashBytes), at);
  }

  /** Writes PATH for `leaf` (its sibling at each level, leaves first) into `room` at `pathAt`. */
  writePath(room: Uint8Array, pathAt: number, leaf: number): void {
    const hashBytes = this.hashBytes;
    const memory = this.sha.bytes;
    for (let d = 0; d < this.depth; d++) {
      const width = this.widths[d]!;
      const sibling = (leaf >>> d) ^ 1;
      const from = this.nodesAt + (this.levelAt[d]! + (sibling < width ? sibling : 0)) * hashBytes;
      const to = pathAt + d * hashBytes;
      // A loop beats Buffer#copy's per-call cost for 32 bytes (measured).
      for (let k = 0; k < hashBytes; k++) room[to + k] = memory[from + k]!;
    }
  }

  /** Leaf inputs of whole requests by length: 0x00 ‖ request. */
  private readonly leafInputs = new Map<number, Buffer>();

  private leafInput(bytes: number): Buffer {
    let input = this.leafInputs.get(bytes);
    if (input === undefined) {
      // Bounded: one per input length seen (a packet length up to 64 KiB).
      if (this.leafInputs.size >= 16) this.leafInputs.clear();
      input = Buffer.alloc(1 + bytes);
      input[0] = LEAF_PREFIX;
      this.leafInputs.set(bytes, input);
    }
    return input;
  }
}
