/**
 * The Roughtime message codec: a tag count N, N-1 offsets, N ascending tags, then the values, all
 * little-endian uint32 and 4-byte aligned. Parsing checks every bound before reading, so hostile
 * bytes give a SaturnError (SATURN_ERR_RT_MALFORMED), never an out-of-range read or a huge
 * allocation. Values are views into the input, not copies.
 */
import { SaturnError } from '../errors.js';
import { tagName } from './tags.js';

/** Most tags a message may carry: the header alone (8 bytes a tag) must fit a 64 KiB datagram. */
const MAX_TAGS = 8192;

/** A SATURN_ERR_RT_MALFORMED error with its reason. */
export function malformed(reason: string): SaturnError {
  return new SaturnError('SATURN_ERR_RT_MALFORMED', reason);
}

/** A parsed message: tags in ascending order and their values (views into the parsed bytes). */
export class RtMessage {
  private constructor(
    readonly tags: readonly number[],
    readonly values: readonly Uint8Array[],
    /** What the message is, for error text: `response`, `SREP`, `DELE`... */
    readonly what: string,
  ) {}

  /** Parses a message, checking count, offsets, alignment and tag order; throws SATURN_ERR_RT_MALFORMED. */
  static parse(bytes: Uint8Array, what = 'message'): RtMessage {
    const message = RtMessage.read(bytes, what);
    if (typeof message === 'string') throw malformed(message);
    return message;
  }

  /** As parse, but returns the reason (one sentence) instead of throwing: for paths that judge every packet. */
  static read(bytes: Uint8Array, what = 'message'): RtMessage | string {
    const length = bytes.byteLength;
    if (length < 4) return `${what} is ${length} bytes, shorter than its tag count`;
    if (length % 4 !== 0) return `${what} length ${length} is not a multiple of 4`;
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    const count = view.getUint32(0, true);
    if (count === 0) {
      if (length !== 4) return `${what} has no tags but ${length - 4} bytes of values`;
      return new RtMessage([], [], what);
    }
    if (count > MAX_TAGS || count * 8 > length)
      return `${what} claims ${count} tags, more than its ${length} bytes can hold`;
    const headerBytes = count * 8;
    const valuesBytes = length - headerBytes;
    const starts: number[] = [0];
    for (let i = 1; i < count; i++) {
      const offset = view.getUint32(4 * i, true);
      if (offset % 4 !== 0) return `${what} offset ${i} (${offset}) is not a multiple of 4`;
      if (offset > valuesBytes) return `${what} offset ${i} (${offset}) points past the ${valuesBytes} bytes of values`;
      if (offset < starts[i - 1]!) return `${what} offset ${i} (${offset}) is smaller than the one before`;
      starts.push(offset);
    }
    const tags: number[] = [];
    const tagBase = 4 * count;
    for (let i = 0; i < count; i++) {
      const tag = view.getUint32(tagBase + 4 * i, true);
      if (i > 0 && tag <= tags[i - 1]!) {
        return tag === tags[i - 1]
          ? `${what} repeats tag ${tagName(tag)}`
          : `${what} tags are not in ascending order (${tagName(tag)} after ${tagName(tags[i - 1]!)})`;
      }
      tags.push(tag);
    }
    const values: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const start = headerBytes + starts[i]!;
      const end = i + 1 < count ? headerBytes + starts[i + 1]! : length;
      values.push(bytes.subarray(start, end));
    }
    return new RtMessage(tags, values, what);
  }

  /** The value of a tag, or undefined. */
  get(tag: number): Uint8Array | undefined {
    // Messages are small (a request has a handful of tags), so a scan beats a map's setup cost.
    const index = this.tags.indexOf(tag);
    return index < 0 ? undefined : this.values[index];
  }

  has(tag: number): boolean {
    return this.tags.includes(tag);
  }

  /** The value of a required tag, optionally of an exact length. */
  require(tag: number, exactLength?: number): Uint8Array {
    const value = this.get(tag);
    if (value === undefined) throw malformed(`${this.what} has no ${tagName(tag)}`);
    if (exactLength !== undefined && value.byteLength !== exactLength) {
      throw malformed(`${this.what} ${tagName(tag)} is ${value.byteLength} bytes, expected ${exactLength}`);
    }
    return value;
  }

  /** A required uint32 value. */
  u32(tag: number): number {
    const value = this.require(tag, 4);
    return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
  }

  /** A required uint64 value. */
  u64(tag: number): bigint {
    const value = this.require(tag, 8);
    return new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
  }

  /** A required list of uint32 (VER, VERS): 1 to `maxEntries` entries. */
  u32List(tag: number, maxEntries = 32): number[] {
    const value = this.require(tag);
    const entries = value.byteLength / 4;
    if (entries < 1 || entries > maxEntries)
      throw malformed(`${this.what} ${tagName(tag)} has ${entries} entries, expected 1 to ${maxEntries}`);
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const list: number[] = [];
    for (let i = 0; i < entries; i++) list.push(view.getUint32(4 * i, true));
    return list;
  }

  /** A required nested message (SREP, CERT, DELE). */
  message(tag: number): RtMessage {
    return RtMessage.parse(this.require(tag), tagName(tag));
  }
}

/** Encodes tag-value pairs (any order) as a message; values must be 4-byte aligned and tags unique. */
export function encodeMessage(fields: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const sorted = [...fields].sort((a, b) => a[0] - b[0]);
  let valuesBytes = 0;
  for (let i = 0; i < sorted.length; i++) {
    const [tag, value] = sorted[i]!;
    if (i > 0 && sorted[i - 1]![0] === tag) throw new RangeError(`tag ${tagName(tag)} appears twice`);
    if (value.byteLength % 4 !== 0)
      throw new RangeError(`value of ${tagName(tag)} is ${value.byteLength} bytes, not a multiple of 4`);
    valuesBytes += value.byteLength;
  }
  const count = sorted.length;
  const out = new Uint8Array(count === 0 ? 4 : 8 * count + valuesBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, count, true);
  let offset = 0;
  let at = 8 * count;
  for (let i = 0; i < count; i++) {
    const [tag, value] = sorted[i]!;
    if (i > 0) view.setUint32(4 * i, offset, true);
    view.setUint32(4 * count + 4 * i, tag, true);
    out.set(value, at);
    at += value.byteLength;
    offset += value.byteLength;
  }
  return out;
}

/** A uint32 as 4 little-endian bytes. */
export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** A list of uint32 as little-endian bytes. */
export function u32listLe(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint32(4 * i, value, true));
  return out;
}

/** A uint64 as 8 little-endian bytes. */
export function u64le(value: bigint): Uint8Array {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${value} does not fit a uint64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}
