/**
 * How a batch crosses threads: all its datagrams packed into one ArrayBuffer that is transferred
 * (moved, not copied) to a worker, and all the replies packed into one ArrayBuffer that comes
 * back the same way: one postMessage per batch each way, never one per packet. Pure.
 *
 * Batch:  u32 count | count × u32 length | the datagrams, back to back.
 * Result: u32 count | count × i32 outcome | the replies, back to back. An outcome >= 0 is the
 *         length of reply i; a negative one is a drop, -(index of its code in ErrorCodes) - 1.
 *
 * A reply is never larger than its request (a UDP server must not amplify), so a result fits in
 * the size of its batch and a worker can allocate it up front.
 */
import { ErrorCodes, type ErrorCode } from '../errors.js';

const CODES = Object.keys(ErrorCodes) as ErrorCode[];
const CODE_INDEX = new Map<ErrorCode, number>(CODES.map((code, i) => [code, i]));

/** Bytes a packed batch of these datagrams takes. */
export function packedSize(datagrams: readonly Uint8Array[]): number {
  let bytes = 4 + 4 * datagrams.length;
  for (const d of datagrams) bytes += d.byteLength;
  return bytes;
}

/** Packs datagrams into one transferable buffer. */
export function packBatch(datagrams: readonly Uint8Array[]): ArrayBuffer {
  const buffer = new ArrayBuffer(packedSize(datagrams));
  packInto(new Uint8Array(buffer), datagrams);
  return buffer;
}

/** Packs datagrams at the start of `out` (a region of a shared buffer); returns the bytes written. */
export function packInto(out: Uint8Array, datagrams: readonly Uint8Array[]): number {
  const bytes = packedSize(datagrams);
  if (bytes > out.byteLength) throw new RangeError(`a batch of ${bytes} bytes does not fit ${out.byteLength}`);
  const view = new DataView(out.buffer, out.byteOffset, bytes);
  view.setUint32(0, datagrams.length, true);
  let at = 4 + 4 * datagrams.length;
  for (let i = 0; i < datagrams.length; i++) {
    const d = datagrams[i]!;
    view.setUint32(4 + 4 * i, d.byteLength, true);
    out.set(d, at);
    at += d.byteLength;
  }
  return bytes;
}

/** The datagrams of a packed batch, as views into it (no copies). */
export function unpackBatch(packed: ArrayBuffer | Uint8Array): Uint8Array[] {
  const bytes = packed instanceof Uint8Array ? packed : new Uint8Array(packed);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const datagrams = new Array<Uint8Array>(count);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(4 + 4 * i, true);
    datagrams[i] = bytes.subarray(at, at + length);
    at += length;
  }
  return datagrams;
}

/**
 * Where a batch handler writes its outcomes, in request order. Reply bytes go straight into the
 * result buffer (`reply` hands out a view to fill), so nothing is copied twice: a buffer of its
 * own (to be transferred), or `target`, a region of a shared arena, when one is given.
 */
export class BatchOutput {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private at: number;
  private next = 0;

  constructor(
    private readonly requestLengths: readonly number[],
    target?: Uint8Array,
  ) {
    const total = requestLengths.reduce((sum, n) => sum + n, 0);
    const size = 4 + 4 * requestLengths.length + total;
    if (target !== undefined && target.byteLength < size)
      throw new RangeError(`a result of up to ${size} bytes does not fit ${target.byteLength}`);
    this.bytes = target ?? new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.view.setUint32(0, requestLengths.length, true);
    this.at = 4 + 4 * requestLengths.length;
  }

  /**
   * Room for the reply to the next request, `length` bytes, to be filled by the caller; undefined
   * (and the request dropped as REPLY_TOO_LARGE) if the reply would be larger than the request.
   */
  reply(length: number): Uint8Array | undefined {
    const i = this.next;
    if (length > this.requestLengths[i]!) {
      this.drop('SATURN_ERR_REPLY_TOO_LARGE');
      return undefined;
    }
    this.next++;
    this.view.setInt32(4 + 4 * i, length, true);
    const room = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return room;
  }

  /** The next request gets no reply, for this reason. */
  drop(code: ErrorCode): void {
    this.view.setInt32(4 + 4 * this.next, -(CODE_INDEX.get(code) ?? 0) - 1, true);
    this.next++;
  }

  /** The result (the bytes written); every request must have an outcome. */
  finish(): Uint8Array {
    if (this.next !== this.requestLengths.length)
      throw new RangeError(`batch of ${this.requestLengths.length} has ${this.next} outcomes`);
    return this.bytes.subarray(0, this.at);
  }
}

/** Calls `each` with every outcome of a result buffer, in request order. */
export function readResults(
  result: ArrayBuffer | Uint8Array,
  each: (index: number, reply: Uint8Array | undefined, dropped: ErrorCode | undefined) => void,
): void {
  const bytes = result instanceof Uint8Array ? result : new Uint8Array(result);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const outcome = view.getInt32(4 + 4 * i, true);
    if (outcome >= 0) {
      each(i, bytes.subarray(at, at + outcome), undefined);
      at += outcome;
    } else {
      each(i, undefined, CODES[-outcome - 1] ?? 'SATURN_ERR_DECODE');
    }
  }
}
