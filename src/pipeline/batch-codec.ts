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

/** Packs datagrams into one transferable buffer. */
export function packBatch(datagrams: readonly Uint8Array[]): ArrayBuffer {
  let bytes = 4 + 4 * datagrams.length;
  for (const d of datagrams) bytes += d.byteLength;
  const buffer = new ArrayBuffer(bytes);
  const view = new DataView(buffer);
  const out = new Uint8Array(buffer);
  view.setUint32(0, datagrams.length, true);
  let at = 4 + 4 * datagrams.length;
  for (let i = 0; i < datagrams.length; i++) {
    const d = datagrams[i]!;
    view.setUint32(4 + 4 * i, d.byteLength, true);
    out.set(d, at);
    at += d.byteLength;
  }
  return buffer;
}

/** The datagrams of a packed batch, as views into it (no copies). */
export function unpackBatch(buffer: ArrayBuffer): Uint8Array[] {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const datagrams = new Array<Uint8Array>(count);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(4 + 4 * i, true);
    datagrams[i] = new Uint8Array(buffer, at, length);
    at += length;
  }
  return datagrams;
}

/**
 * Where a batch handler writes its outcomes, in request order. Reply bytes go straight into the
 * transferable result buffer (`reply` hands out a view to fill), so nothing is copied twice.
 */
export class BatchOutput {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private at: number;
  private next = 0;

  constructor(private readonly requestLengths: readonly number[]) {
    const total = requestLengths.reduce((sum, n) => sum + n, 0);
    const buffer = new ArrayBuffer(4 + 4 * requestLengths.length + total);
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
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

  /** The result buffer; every request must have an outcome. */
  finish(): ArrayBuffer {
    if (this.next !== this.requestLengths.length)
      throw new RangeError(`batch of ${this.requestLengths.length} has ${this.next} outcomes`);
    return this.view.buffer as ArrayBuffer;
  }
}

/** Calls `each` with every outcome of a result buffer, in request order. */
export function readResults(
  buffer: ArrayBuffer,
  each: (index: number, reply: Uint8Array | undefined, dropped: ErrorCode | undefined) => void,
): void {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const outcome = view.getInt32(4 + 4 * i, true);
    if (outcome >= 0) {
      each(i, new Uint8Array(buffer, at, outcome), undefined);
      at += outcome;
    } else {
      each(i, undefined, CODES[-outcome - 1] ?? 'SATURN_ERR_DECODE');
    }
  }
}
